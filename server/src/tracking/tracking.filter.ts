import { TandemError } from '../errors.js';

// MLflow's search syntax for runs and experiments: comparisons joined by AND,
//
//   filter     := comparison (AND comparison)*
//   comparison := field comparator value
//   field      := prefix '.' key | attribute          key: name chars, or quoted with ` or "
//   prefix     := metrics | params | tags | attributes | datasets   (and MLflow's singular forms)
//   comparator := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
//   value      := number | 'text' | "text" | '(' value (',' value)* ')'    ('' inside quotes is ')
//
// and orderings `field [ASC|DESC]`. Parsing yields typed comparisons; the SQL builders below turn
// them into fragments for the tracking store's queries, with every user value bound as a
// parameter and every key compared as a value (never spliced into the SQL text).

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

/** How a field's values compare: numbers (metrics), times in ms, or text. */
type ValueType = 'number' | 'time' | 'text';

export type Field =
  | { kind: 'metric' | 'param' | 'tag'; key: string }
  | { kind: 'dataset'; key: 'name' | 'digest' | 'context' }
  | { kind: 'attribute'; key: string };

export interface Comparison {
  field: Field;
  op: Comparator;
  value: number | string | (number | string)[];
  /** Where the comparison starts in the filter text (0-based), for messages. */
  position: number;
}

export interface OrderTerm {
  field: Field;
  desc: boolean;
}

/** What one kind of search (runs or experiments) lets a filter name. */
export interface Vocabulary {
  /** Prefix word → kind (`metrics` → metric, `attr` → attribute, …). */
  prefixes: Record<string, Field['kind']>;
  /** Attribute name or alias → canonical name and value type. */
  attributes: Record<string, { name: string; type: ValueType }>;
}

const NUMERIC_OPS: Comparator[] = ['=', '!=', '<', '<=', '>', '>='];
const TEXT_OPS: Comparator[] = ['=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN'];
const ALL_OPS = '= != < <= > >= LIKE ILIKE IN NOT IN';

const text = (name: string) => ({ name, type: 'text' as const });
const time = (name: string) => ({ name, type: 'time' as const });

export const RUN_VOCABULARY: Vocabulary = {
  prefixes: {
    metric: 'metric',
    metrics: 'metric',
    param: 'param',
    params: 'param',
    parameter: 'param',
    parameters: 'param',
    tag: 'tag',
    tags: 'tag',
    attribute: 'attribute',
    attributes: 'attribute',
    attr: 'attribute',
    run: 'attribute',
    dataset: 'dataset',
    datasets: 'dataset',
  },
  attributes: {
    run_id: text('run_id'),
    run_uuid: text('run_id'),
    id: text('run_id'),
    run_name: text('run_name'),
    name: text('run_name'),
    status: text('status'),
    user_id: text('user_id'),
    start_time: time('start_time'),
    end_time: time('end_time'),
    parent_run_id: text('parent_run_id'),
    job_id: text('job_id'),
    notebook: text('notebook'),
    experiment_id: text('experiment_id'),
  },
};

export const EXPERIMENT_VOCABULARY: Vocabulary = {
  prefixes: { tag: 'tag', tags: 'tag', attribute: 'attribute', attributes: 'attribute', attr: 'attribute' },
  attributes: {
    name: text('name'),
    experiment_id: text('experiment_id'),
    creation_time: time('creation_time'),
    last_update_time: time('last_update_time'),
  },
};

// ---- tokens

type Token =
  | { type: 'word'; text: string; position: number; key?: string }
  | { type: 'string'; text: string; value: string; position: number }
  | { type: 'number'; text: string; value: number; position: number }
  | { type: 'op' | 'punct'; text: string; position: number }
  | { type: 'end'; text: ''; position: number };

const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const KEY = /[A-Za-z0-9_.\-/:]+/y;
const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const OPERATOR = /!=|<=|>=|=|<|>/y;

function fail(label: string, message: string, token: { text: string; position: number }): never {
  const found = token.text === '' ? 'the end' : `'${token.text.slice(0, 60)}'`;
  throw new TandemError('INVALID_ARGUMENT', `${label}: ${message} at position ${token.position} (found ${found})`, {
    details: { token: token.text, position: token.position },
  });
}

function sticky(re: RegExp, source: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(source)?.[0];
}

/** Reads a quoted run of text starting at `at` (the quote); a doubled quote stands for itself. */
function quoted(label: string, source: string, at: number): { value: string; end: number } {
  const quote = source[at]!;
  let value = '';
  let i = at + 1;
  while (i < source.length) {
    if (source[i] === quote) {
      if (source[i + 1] !== quote) return { value, end: i + 1 };
      i++;
    }
    value += source[i];
    i++;
  }
  return fail(label, `unterminated ${quote === '`' ? 'quoted key' : 'string'}`, { text: source.slice(at, at + 20), position: at });
}

function tokenize(label: string, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const position = i;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'punct', text: c, position });
      i++;
    } else if (c === "'" || c === '"') {
      const { value, end } = quoted(label, source, i);
      tokens.push({ type: 'string', text: source.slice(i, end), value, position });
      i = end;
    } else if (sticky(OPERATOR, source, i)) {
      const op = sticky(OPERATOR, source, i)!;
      tokens.push({ type: 'op', text: op, position });
      i += op.length;
    } else if (sticky(NUMBER, source, i)) {
      const number = sticky(NUMBER, source, i)!;
      tokens.push({ type: 'number', text: number, value: Number(number), position });
      i += number.length;
    } else if (sticky(WORD, source, i)) {
      const word = sticky(WORD, source, i)!;
      i += word.length;
      if (source[i] !== '.') {
        tokens.push({ type: 'word', text: word, position });
        continue;
      }
      // prefix.key: the key runs up to the next blank or operator, or is quoted.
      const start = i + 1;
      let key: string;
      if (source[start] === '`' || source[start] === '"') {
        const read = quoted(label, source, start);
        key = read.value;
        i = read.end;
      } else {
        key = sticky(KEY, source, start) ?? '';
        i = start + key.length;
      }
      if (!key) fail(label, `expected a key after '${word}.'`, { text: source.slice(position, i + 1), position });
      tokens.push({ type: 'word', text: source.slice(position, i), position, key });
    } else {
      fail(label, 'unexpected character', { text: c, position });
    }
  }
  tokens.push({ type: 'end', text: '', position: source.length });
  return tokens;
}

// ---- parser

class Cursor {
  private i = 0;
  constructor(
    readonly label: string,
    private readonly tokens: Token[],
  ) {}

  peek(): Token {
    return this.tokens[this.i]!;
  }

  next(): Token {
    return this.tokens[Math.min(this.i++, this.tokens.length - 1)]!;
  }

  isWord(word: string): boolean {
    const t = this.peek();
    return t.type === 'word' && t.key === undefined && t.text.toUpperCase() === word;
  }
}

function readField(cursor: Cursor, vocabulary: Vocabulary): { field: Field; type: ValueType; token: Token } {
  const token = cursor.next();
  if (token.type !== 'word') fail(cursor.label, 'expected a field such as metrics.<key>, params.<key>, tags.<key> or an attribute', token);
  const attribute = (name: string) => {
    const known = vocabulary.attributes[name.toLowerCase()];
    if (!known) {
      const names = [...new Set(Object.values(vocabulary.attributes).map((a) => a.name))].join(', ');
      fail(cursor.label, `unknown attribute '${name}' (known: ${names})`, token);
    }
    return { field: { kind: 'attribute', key: known.name } as Field, type: known.type, token };
  };
  if (token.key === undefined) return attribute(token.text);
  const prefix = token.text.slice(0, token.text.indexOf('.'));
  const kind = vocabulary.prefixes[prefix.toLowerCase()];
  if (!kind) {
    const known = [...new Set(Object.keys(vocabulary.prefixes).filter((p) => p.endsWith('s')))].join('., ');
    fail(cursor.label, `unknown field prefix '${prefix}' (use ${known}.)`, token);
  }
  if (kind === 'attribute') return attribute(token.key);
  if (kind === 'dataset') {
    if (!['name', 'digest', 'context'].includes(token.key))
      fail(cursor.label, `datasets can be filtered by name, digest or context, not '${token.key}'`, token);
    return { field: { kind, key: token.key as 'name' | 'digest' | 'context' }, type: 'text', token };
  }
  return { field: { kind, key: token.key }, type: kind === 'metric' ? 'number' : 'text', token };
}

function readComparator(cursor: Cursor): { op: Comparator; token: Token } {
  const token = cursor.next();
  if (token.type === 'op') return { op: token.text as Comparator, token };
  if (token.type === 'word' && token.key === undefined) {
    const word = token.text.toUpperCase();
    if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return { op: word, token };
    if (word === 'NOT' && cursor.isWord('IN')) {
      cursor.next();
      return { op: 'NOT IN', token };
    }
  }
  return fail(cursor.label, `expected a comparator (${ALL_OPS})`, token);
}

function readScalar(cursor: Cursor, type: ValueType, field: Field): number | string {
  const token = cursor.next();
  if (type === 'text') {
    if (token.type === 'string') return token.value;
    return fail(cursor.label, `${describe(field)} values are text: quote them, e.g. '0.01'`, token);
  }
  if (token.type === 'number') return token.value;
  return fail(
    cursor.label,
    `${describe(field)} ${type === 'time' ? 'is a time in milliseconds' : 'values are numbers'}: expected a number`,
    token,
  );
}

function describe(field: Field): string {
  return field.kind === 'attribute'
    ? `attribute ${field.key}`
    : field.kind === 'dataset'
      ? `datasets.${field.key}`
      : `${field.kind} ${field.key}`;
}

function readComparison(cursor: Cursor, vocabulary: Vocabulary): Comparison {
  const { field, type, token: fieldToken } = readField(cursor, vocabulary);
  const { op, token: opToken } = readComparator(cursor);
  const allowed = type === 'text' ? TEXT_OPS : NUMERIC_OPS;
  if (!allowed.includes(op)) fail(cursor.label, `${describe(field)} cannot be compared with ${op} (use ${allowed.join(' ')})`, opToken);
  if (op === 'IN' || op === 'NOT IN') {
    const open = cursor.next();
    if (open.text !== '(' || open.type !== 'punct') fail(cursor.label, `expected '(' to open the ${op} list`, open);
    const values = [readScalar(cursor, type, field)];
    for (;;) {
      const t = cursor.next();
      if (t.type === 'punct' && t.text === ')') break;
      if (t.type !== 'punct' || t.text !== ',') fail(cursor.label, `expected ',' or ')' in the ${op} list`, t);
      if (values.length >= 1000) fail(cursor.label, `an ${op} list holds at most 1000 values`, t);
      values.push(readScalar(cursor, type, field));
    }
    return { field, op, value: values, position: fieldToken.position };
  }
  return { field, op, value: readScalar(cursor, type, field), position: fieldToken.position };
}

/** Parses a filter (empty or blank: no conditions). `label` prefixes messages, e.g. `filter`. */
export function parseFilter(source: string, vocabulary: Vocabulary, label = 'filter'): Comparison[] {
  const cursor = new Cursor(label, tokenize(label, source));
  if (cursor.peek().type === 'end') return [];
  const comparisons = [readComparison(cursor, vocabulary)];
  for (;;) {
    const t = cursor.peek();
    if (t.type === 'end') return comparisons;
    if (cursor.isWord('OR')) fail(label, 'OR is not supported: join comparisons with AND', t);
    if (!cursor.isWord('AND')) fail(label, 'expected AND or the end of the filter', t);
    cursor.next();
    if (comparisons.length >= 50) fail(label, 'a filter holds at most 50 comparisons', t);
    comparisons.push(readComparison(cursor, vocabulary));
  }
}

/** Parses one ordering, `field [ASC|DESC]`; ascending unless said. Datasets cannot order. */
export function parseOrderBy(source: string, vocabulary: Vocabulary, label = 'orderBy'): OrderTerm {
  const cursor = new Cursor(label, tokenize(label, source));
  const { field, token } = readField(cursor, vocabulary);
  if (field.kind === 'dataset') fail(label, 'runs cannot be ordered by dataset', token);
  let desc = false;
  if (cursor.isWord('DESC') || cursor.isWord('ASC')) desc = cursor.next().text.toUpperCase() === 'DESC';
  const rest = cursor.peek();
  if (rest.type !== 'end') fail(label, 'expected ASC, DESC or the end of the ordering', rest);
  return { field, desc };
}

// ---- SQL

/** Adds a parameter and answers its placeholder (`$n`). */
export type Bind = (value: unknown) => string;

/** The SQL a comparison's operator and bound value make, on `column`; `cast` types the parameter. */
function compare(column: string, c: Comparison, bind: Bind, cast: string): string {
  if (c.op === 'IN') return `${column} = ANY(${bind(c.value)}::${cast}[])`;
  if (c.op === 'NOT IN') return `${column} <> ALL(${bind(c.value)}::${cast}[])`;
  return `${column} ${c.op} ${bind(c.value)}::${cast}`;
}

/** Times compare as instants: a value in ms becomes a timestamptz parameter, so indexes apply. */
function compareTime(column: string, c: Comparison, bind: Bind): string {
  return `${column} ${c.op} to_timestamp(${bind(c.value)}::float8 / 1000)`;
}

// Run columns (the store's runs table is `r`), and the MLflow tags that live in columns there.
const RUN_ATTRIBUTE_COLUMNS: Record<string, string> = {
  run_id: 'r.id',
  run_name: 'r.name',
  status: 'r.status',
  user_id: '(SELECT u.name FROM users u WHERE u.id = r.created_by)',
  start_time: 'r.start_time',
  end_time: 'r.end_time',
  parent_run_id: 'r.parent_run_id',
  job_id: 'r.job_id',
  notebook: 'r.notebook',
  experiment_id: 'r.experiment_id',
};

/** MLflow's system tags that Tandem keeps as run columns: filters on them read the column. */
export const RUN_TAG_COLUMNS: Record<string, string> = {
  'mlflow.runName': 'run_name',
  'mlflow.parentRunId': 'parent_run_id',
  'mlflow.user': 'user_id',
};

const SIDE_TABLES = { metric: 'run_latest_metrics', param: 'run_params', tag: 'run_tags' } as const;

/** A reserved tag becomes the attribute it mirrors. */
function normalize(field: Field): Field {
  return field.kind === 'tag' && RUN_TAG_COLUMNS[field.key] ? { kind: 'attribute', key: RUN_TAG_COLUMNS[field.key]! } : field;
}

function runCondition(c: Comparison, bind: Bind): string {
  const field = normalize(c.field);
  if (field.kind === 'attribute') {
    const column = RUN_ATTRIBUTE_COLUMNS[field.key]!;
    return field.key === 'start_time' || field.key === 'end_time' ? compareTime(column, c, bind) : compare(column, c, bind, 'text');
  }
  if (field.kind === 'dataset') {
    return `EXISTS (SELECT 1 FROM run_inputs d WHERE d.run_id = r.id AND ${compare(`d.${field.key}`, c, bind, 'text')})`;
  }
  const table = SIDE_TABLES[field.kind];
  return `EXISTS (SELECT 1 FROM ${table} s WHERE s.run_id = r.id AND s.key = ${bind(field.key)}::text AND ${compare('s.value', c, bind, field.kind === 'metric' ? 'float8' : 'text')})`;
}

export interface RunSearchSql {
  /** JOINs for the orderings, after `FROM runs r`. */
  joins: string[];
  /** Conditions to AND together. */
  where: string[];
  /** ORDER BY items, ending with the tie-breakers start_time DESC, id. */
  orderBy: string[];
}

/**
 * The joins, conditions and ordering of a run search on `runs r`. Ordering by a metric the filter
 * also compares joins that metric's latest value directly (it cannot be missing then), so
 * PostgreSQL can walk run_latest_metrics (experiment_id, key, value) in order and stop at the
 * page's end instead of sorting every match.
 */
export function runSearchSql(conditions: Comparison[], order: OrderTerm[], bind: Bind): RunSearchSql {
  const joins: string[] = [];
  const where: string[] = [];
  const orderBy: string[] = [];
  const joined = new Set<Comparison>();
  order.forEach((term, i) => {
    const field = normalize(term.field);
    const direction = term.desc ? 'DESC' : 'ASC';
    if (field.kind === 'attribute') {
      orderBy.push(`${RUN_ATTRIBUTE_COLUMNS[field.key]} ${direction}${field.key === 'end_time' ? ' NULLS LAST' : ''}`);
      return;
    }
    if (field.kind === 'dataset') return;
    const alias = `o${i}`;
    const table = SIDE_TABLES[field.kind];
    const key = `${bind(field.key)}::text`;
    const compared = field.kind === 'metric' ? conditions.filter((c) => c.field.kind === 'metric' && c.field.key === field.key) : [];
    if (compared.length === 0) {
      joins.push(`LEFT JOIN ${table} ${alias} ON ${alias}.run_id = r.id AND ${alias}.key = ${key}`);
      orderBy.push(`${alias}.value ${direction} NULLS LAST`);
      return;
    }
    joins.push(`JOIN ${table} ${alias} ON ${alias}.run_id = r.id AND ${alias}.experiment_id = r.experiment_id AND ${alias}.key = ${key}`);
    for (const c of compared) {
      if (joined.has(c)) continue;
      joined.add(c);
      where.push(compare(`${alias}.value`, c, bind, 'float8'));
    }
    orderBy.push(`${alias}.value ${direction}`);
  });
  for (const c of conditions) if (!joined.has(c)) where.push(runCondition(c, bind));
  orderBy.push('r.start_time DESC', 'r.id');
  return { joins, where, orderBy };
}

// Experiment columns (the store's experiments table is `e`).
const EXPERIMENT_ATTRIBUTE_COLUMNS: Record<string, string> = {
  name: 'e.name',
  experiment_id: 'e.id',
  creation_time: 'e.created_at',
  last_update_time: 'e.updated_at',
};

/** The conditions and ordering of an experiment search on `experiments e`. */
export function experimentSearchSql(conditions: Comparison[], order: OrderTerm[], bind: Bind): { where: string[]; orderBy: string[] } {
  const column = (field: Field) =>
    field.kind === 'tag' ? `(e.tags->>${bind(field.key)}::text)` : EXPERIMENT_ATTRIBUTE_COLUMNS[field.key]!;
  const where = conditions.map((c) =>
    c.field.kind === 'attribute' && (c.field.key === 'creation_time' || c.field.key === 'last_update_time')
      ? compareTime(column(c.field), c, bind)
      : compare(column(c.field), c, bind, 'text'),
  );
  const orderBy = order.map((term) => `${column(term.field)} ${term.desc ? 'DESC' : 'ASC'} NULLS LAST`);
  orderBy.push('e.updated_at DESC', 'e.id');
  return { where, orderBy };
}
