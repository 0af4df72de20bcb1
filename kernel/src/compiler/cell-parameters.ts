// What a compiled cell is called with (cell-transform.ts writes code against these names, the
// kernel's cell runner passes them). Kept apart so the kernel's thread need not load TypeScript.
export const SCOPE = '__tandem_scope__';
export const RUNTIME = '__tandem_runtime__';
export const CELL_PARAMETERS = [SCOPE, RUNTIME, 'require', 'module', 'exports', '__filename', '__dirname'] as const;
