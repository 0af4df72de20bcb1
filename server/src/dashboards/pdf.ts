import type { Browser } from 'playwright-core';
import { loadMachineConfig } from '../config.js';
import { TandemError } from '../errors.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Prints dashboard HTML to PDF in headless Chromium, one browser shared by all exports. */
export class PdfPrinter {
  private browser?: Promise<Browser>;

  constructor(private readonly executablePath = loadMachineConfig().chromium) {}

  async print(html: string): Promise<Buffer> {
    const browser = await this.launch();
    // Script stays off: the print layout needs none, and outputs get no chance to run any.
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
      return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' } });
    } finally {
      await context.close();
    }
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = undefined;
    await (await browser?.catch(() => undefined))?.close();
  }

  private launch(): Promise<Browser> {
    this.browser ??= (async () => {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: this.executablePath, args: CHROMIUM_ARGS });
      browser.on('disconnected', () => (this.browser = undefined));
      return browser;
    })().catch((error: unknown) => {
      this.browser = undefined;
      throw new TandemError('UNAVAILABLE', `PDF export needs Chromium at ${this.executablePath}: ${(error as Error).message}`, {
        cause: error,
      });
    });
    return this.browser;
  }
}
