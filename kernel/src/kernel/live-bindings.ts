// Keeps a cell's `let` and `var` variables and their copies in tslab's `exports` one variable.
// Later cells read and write an earlier cell's variable as `exports.<name>`, while that cell's own
// functions keep using its local variable: `let count = 0; function bump() { return ++count; }`,
// then `count = 100` in a later cell, left `bump()` counting on from the old value. After a cell
// runs, each of its reassignable variables gets an accessor instead of a copy, so both sides see
// one value. A later cell that declares the same name again replaces the accessor.
//
// The accessors live on the prototype of the object behind tslab's `exports` proxy, which traps
// only `defineProperty` (it stores a getter's current value): reads and writes of names the
// object lacks reach the prototype's accessors untouched.

/** The global through which compiled cells register their variables. */
const GLOBAL = '__tandem_live__';

type Exports = Record<string, unknown>;

export class LiveBindings {
  private readonly accessors: Exports = Object.create(Object.prototype);

  constructor(private readonly exports: Exports) {
    Object.setPrototypeOf(exports, this.accessors);
    Object.defineProperty(globalThis, GLOBAL, { value: this, configurable: true });
  }

  /** JavaScript to run at the end of a compiled cell: it binds the cell's variables `names`. */
  static registration(names: string[]): string {
    const bind = (name: string) => {
      const value = name === '$value' ? '$value_' : '$value';
      return `${GLOBAL}.bind(exports, ${JSON.stringify(name)}, () => ${name}, (${value}) => { ${name} = ${value}; });`;
    };
    return names.length ? `\n${names.map(bind).join(' ')}\n` : '';
  }

  /** Called by a compiled cell: `exports[name]` reads and writes the cell's variable from now on. */
  bind(exports: Exports, name: string, get: () => unknown, set: (value: unknown) => void): void {
    if (exports !== this.exports) return;
    delete exports[name];
    Object.defineProperty(this.accessors, name, { get, set, enumerable: true, configurable: true });
  }

  /** Before a cell that declares `names` runs: its own declarations replace earlier cells' variables. */
  release(names: string[]): void {
    for (const name of names) delete this.accessors[name];
  }
}
