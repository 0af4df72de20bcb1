// Completions and inspection (Jupyter's complete_request and inspect_request) from the language
// service, for code typed in a cell that sees every earlier cell's declarations.
import ts from 'typescript';
import { INTERNAL_PREFIX } from './notebook-scope.js';

export interface Completions {
  matches: string[];
  /** UTF-16 offsets in the code. */
  start: number;
  end: number;
  /** The kind of each match (function, class, variable…), as JupyterLab shows it. */
  kinds: string[];
}

const IDENTIFIER_PART = /[\p{ID_Continue}$\u200c\u200d]/u;

export function completionsAt(service: ts.LanguageService, file: string, code: string, offset: number): Completions {
  let start = offset;
  while (start > 0 && IDENTIFIER_PART.test(code[start - 1]!)) start--;
  const typed = code.slice(start, offset);
  const info = service.getCompletionsAtPosition(file, offset, { includeCompletionsWithInsertText: true });
  const entries = (info?.entries ?? [])
    .filter((e) => !e.name.startsWith(INTERNAL_PREFIX) && e.name.startsWith(typed))
    .sort((a, b) => (a.sortText === b.sortText ? a.name.localeCompare(b.name) : a.sortText < b.sortText ? -1 : 1));
  return { matches: entries.map((e) => e.name), start, end: offset, kinds: entries.map((e) => e.kind) };
}

export interface Inspection {
  'text/plain': string;
  'text/markdown': string;
}

/** The type and documentation (JSDoc, with its tags) of what is at `offset`, or of the call it is in. */
export function inspectionAt(service: ts.LanguageService, file: string, offset: number): Inspection | undefined {
  const info = service.getQuickInfoAtPosition(file, offset) ?? (offset > 0 ? service.getQuickInfoAtPosition(file, offset - 1) : undefined);
  if (info) {
    // Earlier cells' functions, classes and imports reach a cell as aliases (notebook-scope.ts): show what they alias.
    const signature = ts
      .displayPartsToString(info.displayParts)
      .replace(/^\(alias\) /, '')
      .replace(/\nimport [^\n]*$/, '');
    return documented(signature, info.documentation, info.tags);
  }
  const help = service.getSignatureHelpItems(file, offset, undefined);
  const item = help?.items[help.selectedItemIndex];
  if (!item) return undefined;
  const signature = [item.prefixDisplayParts, ...joinParameters(item), item.suffixDisplayParts].map(ts.displayPartsToString).join('');
  return documented(signature, item.documentation, item.tags);
}

function joinParameters(item: ts.SignatureHelpItem): ts.SymbolDisplayPart[][] {
  return item.parameters.flatMap((p, i) => (i === 0 ? [p.displayParts] : [item.separatorDisplayParts, p.displayParts]));
}

function documented(signature: string, documentation: ts.SymbolDisplayPart[] | undefined, tags: ts.JSDocTagInfo[] | undefined): Inspection {
  const docs = ts.displayPartsToString(documentation);
  const tagLines = (tags ?? []).map((tag) => ({ name: tag.name, text: ts.displayPartsToString(tag.text) }));
  const plain = [signature, docs, tagLines.map((t) => `@${t.name} ${t.text}`.trimEnd()).join('\n')].filter(Boolean).join('\n\n');
  const markdown = [`\`\`\`typescript\n${signature}\n\`\`\``, docs, tagLines.map((t) => `*@${t.name}* ${t.text}`.trimEnd()).join('\n\n')]
    .filter(Boolean)
    .join('\n\n');
  return { 'text/plain': plain, 'text/markdown': markdown };
}

/** Jupyter counts cursor positions in Unicode code points; JavaScript strings in UTF-16 units. */
export function utf16Offset(code: string, codePoints: number): number {
  let offset = 0;
  for (let i = 0; i < codePoints && offset < code.length; i++) offset += code.codePointAt(offset)! > 0xffff ? 2 : 1;
  return offset;
}

export function codePointOffset(code: string, utf16: number): number {
  return [...code.slice(0, utf16)].length;
}
