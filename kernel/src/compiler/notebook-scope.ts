// Which earlier cell each name of the notebook comes from, as TypeScript sees it.
//
// Cells are modules in a fixed pool of virtual files ("slots") in the notebook's folder. An index
// file imports every slot and publishes them as the global namespace `__tandem_cells__`; a global
// declarations file gives every current name its type from the slot that declared it last:
//
//     import __tandem_3_count = __tandem_cells__.c3.count;
//     declare let count: typeof __tandem_3_count;
//     import Shape = __tandem_cells__.c1.Shape;
//
// So a cell sees the current declarations of earlier cells as globals and may declare the same
// names again (its own module scope shadows them), assign earlier `let`s, and use earlier types,
// classes, enums, namespaces and imports with all their meanings. Running a cell only changes the
// text of one slot and of the declarations file, never the set of files or their imports, so
// TypeScript reuses the whole previous program (it would re-resolve every file otherwise).
import path from 'node:path';
import type { CompilerFiles } from './compiler-files.js';
import type { DeclarationKind, Declared } from './declarations.js';

const INITIAL_SLOTS = 32;
/** Global names the compiler adds for its own bookkeeping; completions leave them out. */
export const INTERNAL_PREFIX = '__tandem_';

interface Owner {
  slot: number;
  kind: DeclarationKind;
  meanings: number;
}

export class NotebookScope {
  readonly indexFile: string;
  readonly declarationsFile: string;
  private readonly owners = new Map<string, Owner>();
  /** Per slot: the module specifiers its current text imports, and whether it must stay (global declarations). */
  private slots: { imports: string; pinned: boolean }[] = [];

  constructor(
    private readonly dir: string,
    private readonly files: CompilerFiles,
  ) {
    this.indexFile = path.join(dir, `${INTERNAL_PREFIX}cells__.d.ts`);
    this.declarationsFile = path.join(dir, `${INTERNAL_PREFIX}scope__.d.ts`);
    this.grow(INITIAL_SLOTS);
    this.writeDeclarations();
  }

  /** The files every program of the notebook starts from. */
  get roots(): string[] {
    return [this.indexFile, this.declarationsFile];
  }

  slotFile(slot: number): string {
    return path.join(this.dir, `${INTERNAL_PREFIX}cell_${slot}__.ts`);
  }

  /**
   * The names a new cell sees from earlier cells, less those its own declarations hide in every
   * meaning the earlier name may have (a cell run again that redeclares `const x` sees no earlier `x`).
   */
  visibleNames(hides: ReadonlyMap<string, number>): ReadonlySet<string> {
    const visible = new Set<string>();
    for (const [name, { meanings }] of this.owners) if ((meanings & ~(hides.get(name) ?? 0)) !== 0) visible.add(name);
    return visible;
  }

  /**
   * A slot for a new cell: one no current name comes from, preferably one whose text imports the
   * same modules (then TypeScript reuses the previous program as it is).
   */
  freeSlot(imports: string): number {
    const used = new Set([...this.owners.values()].map((o) => o.slot));
    const free = this.slots.map((_, i) => i).filter((i) => !used.has(i) && !this.slots[i]!.pinned);
    if (free.length === 0) {
      const first = this.slots.length;
      this.grow(this.slots.length * 2);
      return first;
    }
    return free.find((i) => this.slots[i]!.imports === imports) ?? free[0]!;
  }

  /** Puts a cell's text in a slot (without making its declarations current). */
  write(slot: number, text: string, imports: string): void {
    this.files.setVirtual(this.slotFile(slot), text);
    this.slots[slot]!.imports = imports;
  }

  /** The cell in `slot` ran: its declarations are the current ones from now on. */
  commit(slot: number, declared: Declared[], global: boolean): void {
    for (const { name, kind, meanings } of declared) this.owners.set(name, { slot, kind, meanings });
    if (global) this.slots[slot]!.pinned = true;
    if (declared.length > 0) this.writeDeclarations();
  }

  private grow(size: number): void {
    while (this.slots.length < size) {
      this.files.setVirtual(this.slotFile(this.slots.length), 'export {};\n');
      this.slots.push({ imports: '', pinned: false });
    }
    const imports = this.slots.map((_, i) => `import * as c${i} from './${INTERNAL_PREFIX}cell_${i}__';`);
    const names = this.slots.map((_, i) => `c${i}`).join(', ');
    this.files.setVirtual(this.indexFile, `${imports.join('\n')}\nexport { ${names} };\nexport as namespace ${INTERNAL_PREFIX}cells__;\n`);
  }

  private writeDeclarations(): void {
    const lines = [...this.owners].map(([name, { slot, kind }]) => {
      const target = `${INTERNAL_PREFIX}cells__.c${slot}.${name}`;
      if (kind === 'alias') return `import ${name} = ${target};`;
      // `typeof` of an alias, not of `__tandem_cells__.cN.name`: that would make the checker build
      // the type of the whole namespace on every cell.
      const alias = `${INTERNAL_PREFIX}${slot}_${name}`;
      return `import ${alias} = ${target};\ndeclare ${kind} ${name}: typeof ${alias};`;
    });
    this.files.setVirtual(this.declarationsFile, `${lines.join('\n')}\n`);
  }
}
