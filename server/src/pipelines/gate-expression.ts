import type { PipelineValue } from '../api/index.js';
import { TandemError } from '../errors.js';
import { lookUp, parseReference, type Reference, type RunValues } from './references.js';

// A gate's expression language, read and evaluated here (never as JavaScript: the server runs no
// user code): comparisons of numbers, strings, booleans and null, joined by and/or/not, with
// parentheses; operands are literals, params.<name>, event.<field> and steps.<step>.<output>.

type Node =
  | { type: 'literal'; value: PipelineValue }
  | { type: 'ref'; ref: Reference }
  | { type: 'not'; operand: Node }
  | { type: 'logic'; op: 'and' | 'or'; left: Node; right: Node }
  | { type: 'compare'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; left: Node; right: Node };

export interface Expression {
  source: string;
  references: Reference[];
  evaluate(values: RunValues): boolean;
}

const TOKEN = /\s*(?:(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|'([^']*)'|"([^"]*)"|(==|!=|<=|>=|<|>|\(|\))|([A-Za-z_][\w.-]*))/y;

interface Token {
  text: string;
  kind: 'number' | 'string' | 'op' | 'word';
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    if (/^\s*$/.test(source.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(source);
    if (!m)
      throw new TandemError('INVALID_ARGUMENT', `expression: cannot read "${source.slice(at).trim().slice(0, 20)}" at character ${at + 1}`);
    at = TOKEN.lastIndex;
    if (m[1] !== undefined) tokens.push({ text: m[1], kind: 'number' });
    else if (m[2] !== undefined || m[3] !== undefined) tokens.push({ text: m[2] ?? m[3]!, kind: 'string' });
    else if (m[4] !== undefined) tokens.push({ text: m[4], kind: 'op' });
    else tokens.push({ text: m[5]!, kind: 'word' });
  }
  return tokens;
}

/** Reads `source`; a mistake is a 400 naming where. */
export function parseExpression(source: string): Expression {
  const tokens = tokenize(source);
  let i = 0;
  const references: Reference[] = [];
  const peek = () => tokens[i];
  const isWord = (w: string) => peek()?.kind === 'word' && peek()!.text === w;
  const fail = (what: string): never => {
    throw new TandemError('INVALID_ARGUMENT', `expression: ${what} in "${source}"`);
  };

  const operand = (): Node => {
    const t = tokens[i++];
    if (!t) return fail('expected a value at the end');
    if (t.kind === 'op' && t.text === '(') {
      const inner = or();
      if (tokens[i++]?.text !== ')') fail('missing )');
      return inner;
    }
    if (t.kind === 'number') return { type: 'literal', value: Number(t.text) };
    if (t.kind === 'string') return { type: 'literal', value: t.text };
    if (t.kind === 'word') {
      if (t.text === 'true' || t.text === 'false') return { type: 'literal', value: t.text === 'true' };
      if (t.text === 'null') return { type: 'literal', value: null };
      const ref = parseReference(t.text);
      if (!ref) return fail(`unknown name "${t.text}" (use params.<name>, event.<field> or steps.<step>.<output>)`);
      references.push(ref);
      return { type: 'ref', ref };
    }
    return fail(`unexpected "${t.text}"`);
  };
  const compare = (): Node => {
    const left = operand();
    const t = peek();
    if (t?.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      i++;
      return { type: 'compare', op: t.text as '==', left, right: operand() };
    }
    return left;
  };
  const not = (): Node => {
    if (isWord('not')) {
      i++;
      return { type: 'not', operand: not() };
    }
    return compare();
  };
  const and = (): Node => {
    let left = not();
    while (isWord('and')) {
      i++;
      left = { type: 'logic', op: 'and', left, right: not() };
    }
    return left;
  };
  const or = (): Node => {
    let left = and();
    while (isWord('or')) {
      i++;
      left = { type: 'logic', op: 'or', left, right: and() };
    }
    return left;
  };

  const root = or();
  if (i < tokens.length) fail(`unexpected "${tokens[i]!.text}"`);
  return { source, references, evaluate: (values) => truthy(evaluate(root, values)) };
}

function evaluate(node: Node, values: RunValues): PipelineValue {
  switch (node.type) {
    case 'literal':
      return node.value;
    case 'ref':
      return lookUp(node.ref, values);
    case 'not':
      return !truthy(evaluate(node.operand, values));
    case 'logic': {
      const left = truthy(evaluate(node.left, values));
      if (node.op === 'and') return left && truthy(evaluate(node.right, values));
      return left || truthy(evaluate(node.right, values));
    }
    case 'compare': {
      const a = evaluate(node.left, values);
      const b = evaluate(node.right, values);
      if (node.op === '==') return a === b;
      if (node.op === '!=') return a !== b;
      if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string'))
        throw new TandemError('INVALID_ARGUMENT', `expression: cannot order ${JSON.stringify(a)} and ${JSON.stringify(b)} with ${node.op}`);
      const [x, y] = [a as number | string, b as number | string];
      return node.op === '<' ? x < y : node.op === '<=' ? x <= y : node.op === '>' ? x > y : x >= y;
    }
  }
}

const truthy = (value: PipelineValue): boolean => value !== null && value !== false && value !== 0 && value !== '';
