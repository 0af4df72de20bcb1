import { TABLE_MIME } from '../../src/dashboards/content.js';

/** A notebook the way JupyterLab saves it: markdown, code with table, SVG, PNG, HTML and stream outputs. */
export function sampleNotebook(marker = 'v1') {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'tandem', display_name: 'TypeScript (Tandem)' } },
    cells: [
      { cell_type: 'markdown', source: [`# Sales report ${marker}\n`, 'Numbers for **managers**.'], metadata: {} },
      {
        cell_type: 'code',
        source: 'const secret = "SELECT * FROM salaries"; table(q)',
        metadata: {},
        outputs: [
          {
            output_type: 'display_data',
            metadata: {},
            data: {
              [TABLE_MIME]: {
                version: 1,
                rowCount: 40,
                columns: [
                  { name: 'region', type: 'Utf8' },
                  { name: 'revenue', type: 'Float64' },
                ],
                rows: Array.from({ length: 40 }, (_, i) => [`r${i}`, i * 10]),
                truncated: false,
              },
              'text/plain': 'table fallback',
            },
          },
        ],
      },
      {
        cell_type: 'code',
        source: 'plot()',
        metadata: {},
        outputs: [
          {
            output_type: 'display_data',
            metadata: {},
            data: {
              'image/svg+xml':
                '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="steelblue"/></svg>',
            },
          },
          { output_type: 'stream', name: 'stdout', text: ['total: ', '42\n'] },
          { output_type: 'stream', name: 'stderr', text: 'warning: internal detail\n' },
        ],
      },
      {
        cell_type: 'code',
        source: 'html()',
        metadata: {},
        outputs: [
          { output_type: 'execute_result', execution_count: 3, metadata: {}, data: { 'text/html': '<b>bold</b>', 'text/plain': 'x' } },
        ],
      },
    ],
  };
}

/** Outputs that try to run script in the dashboard's origin; each would set window.__xss. */
export const XSS_PAYLOADS = {
  script: '<script>window.__xss = "script"</script>',
  onerror: '<img src="x" onerror="window.__xss = \'onerror\'">',
  javascriptUrl: '<a id="jsurl" href="javascript:window.__xss=\'href\'">click</a>',
  svgScript:
    '<svg xmlns="http://www.w3.org/2000/svg"><script>window.__xss = "svg"</script><rect onload="window.__xss=\'svgload\'" width="5" height="5"/><foreignObject><iframe src="javascript:parent.__xss=1"></iframe></foreignObject></svg>',
  iframe: '<iframe srcdoc="<script>parent.__xss=\'iframe\'</script>"></iframe>',
  styleBreakout: '<style>body{}</style><script>window.__xss="style"</script>',
  markdownHtml:
    "# Title\n\n<img src=x onerror=\"window.__xss='md'\"> [link](javascript:window.__xss='mdlink')\n\n<details open ontoggle=\"window.__xss='toggle'\"><summary>s</summary></details>",
  tableCell: '</script><script>window.__xss="table"</script>',
};

export function xssNotebook() {
  const display = (data: Record<string, unknown>) => ({ output_type: 'display_data', metadata: {}, data });
  return {
    cells: [
      { cell_type: 'markdown', source: XSS_PAYLOADS.markdownHtml },
      {
        cell_type: 'code',
        source: '',
        outputs: [
          display({ 'text/html': XSS_PAYLOADS.script }),
          display({ 'text/html': XSS_PAYLOADS.onerror }),
          display({ 'text/html': XSS_PAYLOADS.javascriptUrl }),
          display({ 'image/svg+xml': XSS_PAYLOADS.svgScript }),
          display({ 'text/html': XSS_PAYLOADS.iframe }),
          display({ 'text/html': XSS_PAYLOADS.styleBreakout }),
          display({ 'text/markdown': XSS_PAYLOADS.markdownHtml }),
          display({
            'application/vnd.tandem.table+json': {
              rowCount: 30,
              columns: [{ name: '<img src=x onerror="window.__xss=\'th\'">', type: 'Utf8' }],
              rows: Array.from({ length: 30 }, () => [XSS_PAYLOADS.tableCell]),
            },
          }),
        ],
      },
    ],
  };
}
