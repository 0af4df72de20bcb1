import { describe, expect, it } from 'vitest';
import { TandemError } from '../../src/errors.js';
import {
  EXPERIMENT_VOCABULARY,
  experimentSearchSql,
  parseFilter,
  parseOrderBy,
  RUN_VOCABULARY,
  runSearchSql,
  type Comparison,
} from '../../src/tracking/tracking.filter.js';

const runs = (filter: string) => parseFilter(filter, RUN_VOCABULARY);

/** The error a filter fails with: its message and where it points. */
function failure(filter: string): { message: string; token: string; position: number } {
  try {
    runs(filter);
  } catch (error) {
    expect(error).toBeInstanceOf(TandemError);
    const e = error as TandemError;
    expect(e.code).toBe('INVALID_ARGUMENT');
    return { message: e.message, ...(e.details as { token: string; position: number }) };
  }
  throw new Error(`filter ${filter} parsed`);
}

/** SQL and parameters of a run search, binding as the store does. */
function sqlOf(filter: string, orderBy: string[] = []) {
  const params: unknown[] = [];
  const bind = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const order = orderBy.map((o) => parseOrderBy(o, RUN_VOCABULARY));
  return { ...runSearchSql(runs(filter), order, bind), params };
}

describe('the run filter parser', () => {
  it('reads the example of issue 15 as three comparisons', () => {
    expect(runs("metrics.acc > 0.9 and params.lr = '0.01' and tags.team = 'x'")).toEqual<Comparison[]>([
      { field: { kind: 'metric', key: 'acc' }, op: '>', value: 0.9, position: 0 },
      { field: { kind: 'param', key: 'lr' }, op: '=', value: '0.01', position: 22 },
      { field: { kind: 'tag', key: 'team' }, op: '=', value: 'x', position: 45 },
    ]);
  });

  it('takes attributes with or without their prefix, and MLflow’s aliases of the prefixes', () => {
    expect(runs("attributes.status = 'FINISHED' AND run_name LIKE 'x%' AND attr.start_time >= 1700000000000")).toMatchObject([
      { field: { kind: 'attribute', key: 'status' }, op: '=', value: 'FINISHED' },
      { field: { kind: 'attribute', key: 'run_name' }, op: 'LIKE', value: 'x%' },
      { field: { kind: 'attribute', key: 'start_time' }, op: '>=', value: 1700000000000 },
    ]);
    expect(runs("metric.loss < 1 and param.lr != '1' and parameters.depth = '3' and tag.a ILIKE '%b%'").map((c) => c.field.kind)).toEqual([
      'metric',
      'param',
      'param',
      'tag',
    ]);
  });

  it('reads every comparator, IN and NOT IN lists, and keeps case-insensitive keywords', () => {
    const ops = ['=', '!=', '<', '<=', '>', '>='].map((op) => runs(`metrics.m ${op} 1`)[0]!.op);
    expect(ops).toEqual(['=', '!=', '<', '<=', '>', '>=']);
    expect(runs("attributes.run_id in ('a', 'b') AND tags.t not in ('x')")).toMatchObject([
      { op: 'IN', value: ['a', 'b'] },
      { op: 'NOT IN', value: ['x'] },
    ]);
  });

  it('reads quoted keys, keys with dots, slashes, dashes and colons, and quotes inside strings', () => {
    expect(runs('metrics.`my metric` > 1 AND metrics."val loss" < 2 AND metrics.system/cpu_utilization_percentage > 3')).toMatchObject([
      { field: { key: 'my metric' } },
      { field: { key: 'val loss' } },
      { field: { key: 'system/cpu_utilization_percentage' } },
    ]);
    expect(runs("tags.mlflow.source.name = 'it''s' AND params.a-b:c = \"d\"")).toMatchObject([
      { field: { kind: 'tag', key: 'mlflow.source.name' }, value: "it's" },
      { field: { kind: 'param', key: 'a-b:c' }, value: 'd' },
    ]);
  });

  it('reads numbers in every form and comparisons written without spaces', () => {
    expect(runs('metrics.a>-1.5e-3 AND metrics.b<=.5 AND metrics.c=10').map((c) => c.value)).toEqual([-0.0015, 0.5, 10]);
  });

  it('answers no conditions for an empty or blank filter', () => {
    expect(runs('')).toEqual([]);
    expect(runs('   ')).toEqual([]);
  });

  describe('names the bad token and its position', () => {
    it('a missing comparator', () => {
      expect(failure('metrics.acc 0.9')).toMatchObject({
        token: '0.9',
        position: 12,
        message: expect.stringMatching(/expected a comparator.*position 12/),
      });
    });

    it('OR, which MLflow does not support either', () => {
      expect(failure("metrics.a > 1 OR params.b = '2'")).toMatchObject({
        token: 'OR',
        position: 14,
        message: expect.stringMatching(/OR is not supported/),
      });
    });

    it('an unknown prefix or attribute', () => {
      expect(failure('metricz.acc > 1')).toMatchObject({
        token: 'metricz.acc',
        position: 0,
        message: expect.stringMatching(/unknown field prefix 'metricz'/),
      });
      expect(failure("color = 'red'")).toMatchObject({
        token: 'color',
        message: expect.stringMatching(/unknown attribute 'color' \(known: run_id, run_name/),
      });
    });

    it('a value of the wrong type', () => {
      expect(failure("metrics.acc > '0.9'")).toMatchObject({
        token: "'0.9'",
        position: 14,
        message: expect.stringMatching(/metric acc values are numbers/),
      });
      expect(failure('params.lr = 0.01')).toMatchObject({
        token: '0.01',
        position: 12,
        message: expect.stringMatching(/param lr values are text: quote them/),
      });
      expect(failure("attributes.start_time > 'yesterday'")).toMatchObject({ message: expect.stringMatching(/time in milliseconds/) });
    });

    it('a comparator the field does not take', () => {
      expect(failure("metrics.acc LIKE '9%'")).toMatchObject({
        token: 'LIKE',
        position: 12,
        message: expect.stringMatching(/cannot be compared with LIKE/),
      });
      expect(failure("params.lr > '1'")).toMatchObject({ token: '>', message: expect.stringMatching(/use = != LIKE ILIKE IN NOT IN/) });
    });

    it('broken strings, lists and stray characters', () => {
      expect(failure("params.lr = '0.01")).toMatchObject({ position: 12, message: expect.stringMatching(/unterminated string/) });
      expect(failure("tags.t IN ('a' 'b')")).toMatchObject({ token: "'b'", message: expect.stringMatching(/expected ',' or '\)'/) });
      expect(failure("tags.t IN 'a'")).toMatchObject({ token: "'a'", message: expect.stringMatching(/expected '\('/) });
      expect(failure('metrics.a > 1 ; DROP TABLE runs')).toMatchObject({
        token: ';',
        position: 14,
        message: expect.stringMatching(/unexpected character/),
      });
      expect(failure('metrics.a > 1 AND')).toMatchObject({ token: '', position: 17, message: expect.stringMatching(/found the end/) });
      expect(failure('metrics. > 1')).toMatchObject({ position: 0, message: expect.stringMatching(/expected a key after 'metrics.'/) });
    });

    it('datasets filtered by anything but name, digest or context', () => {
      expect(failure("datasets.size = '1'")).toMatchObject({ message: expect.stringMatching(/name, digest or context/) });
    });
  });

  it('parses orderings with a direction, and refuses trailing words', () => {
    expect(parseOrderBy('metrics.acc DESC', RUN_VOCABULARY)).toEqual({ field: { kind: 'metric', key: 'acc' }, desc: true });
    expect(parseOrderBy('params.lr', RUN_VOCABULARY)).toEqual({ field: { kind: 'param', key: 'lr' }, desc: false });
    expect(parseOrderBy('attributes.start_time asc', RUN_VOCABULARY)).toEqual({
      field: { kind: 'attribute', key: 'start_time' },
      desc: false,
    });
    expect(() => parseOrderBy('metrics.acc DESC NULLS', RUN_VOCABULARY)).toThrow(
      /expected ASC, DESC or the end of the ordering at position 17/,
    );
    expect(() => parseOrderBy('datasets.name', RUN_VOCABULARY)).toThrow(/cannot be ordered by dataset/);
  });
});

describe('the SQL a run filter makes', () => {
  it('binds every key and value as a parameter: hostile text never reaches the SQL', () => {
    const hostile = "x'); DROP TABLE runs; --";
    const { where, joins, orderBy, params } = sqlOf(`params.\`${hostile}\` = '${hostile.replace(/'/g, "''")}'`, [`tags.\`${hostile}\``]);
    const sql = [...joins, ...where, ...orderBy].join(' ');
    expect(sql).not.toContain('DROP');
    expect(params).toEqual([hostile, hostile, hostile]);
  });

  it('filters metrics, params and tags on their latest-value tables with EXISTS', () => {
    const { where, params } = sqlOf("metrics.acc > 0.9 AND params.lr = '0.01' AND tags.team = 'x'");
    expect(where).toEqual([
      'EXISTS (SELECT 1 FROM run_latest_metrics s WHERE s.run_id = r.id AND s.key = $1::text AND s.value > $2::float8)',
      'EXISTS (SELECT 1 FROM run_params s WHERE s.run_id = r.id AND s.key = $3::text AND s.value = $4::text)',
      'EXISTS (SELECT 1 FROM run_tags s WHERE s.run_id = r.id AND s.key = $5::text AND s.value = $6::text)',
    ]);
    expect(params).toEqual(['acc', 0.9, 'lr', '0.01', 'team', 'x']);
  });

  it('joins the ordered metric when the filter compares it, so the index gives the order', () => {
    const { joins, where, orderBy } = sqlOf("metrics.acc > 0.9 AND params.lr = '0.01'", ['metrics.acc DESC']);
    expect(joins).toEqual(['JOIN run_latest_metrics o0 ON o0.run_id = r.id AND o0.experiment_id = r.experiment_id AND o0.key = $1::text']);
    expect(where[0]).toBe('o0.value > $2::float8');
    expect(orderBy).toEqual(['o0.value DESC', 'r.start_time DESC', 'r.id']);
  });

  it('orders by a metric the filter leaves alone with runs lacking it last', () => {
    const { joins, orderBy } = sqlOf('', ['metrics.loss']);
    expect(joins).toEqual(['LEFT JOIN run_latest_metrics o0 ON o0.run_id = r.id AND o0.key = $1::text']);
    expect(orderBy[0]).toBe('o0.value ASC NULLS LAST');
  });

  it('reads MLflow’s system tags from the run’s own columns', () => {
    const { where } = sqlOf("tags.mlflow.parentRunId = 'abc' AND tags.mlflow.runName LIKE 'x%'");
    expect(where).toEqual(['r.parent_run_id = $1::text', 'r.name LIKE $2::text']);
  });

  it('compares times as instants, and lists as arrays', () => {
    const { where, params } = sqlOf("attributes.end_time < 5 AND attributes.run_id IN ('a','b')");
    expect(where).toEqual(['r.end_time < to_timestamp($1::float8 / 1000)', 'r.id = ANY($2::text[])']);
    expect(params).toEqual([5, ['a', 'b']]);
  });
});

describe('the experiment filter', () => {
  it('takes name, times and tags, and nothing of runs', () => {
    const conditions = parseFilter("name LIKE 'churn%' AND tags.team = 'growth' AND creation_time > 0", EXPERIMENT_VOCABULARY);
    const params: unknown[] = [];
    const { where } = experimentSearchSql(conditions, [], (v) => {
      params.push(v);
      return `$${params.length}`;
    });
    expect(where).toEqual(['e.name LIKE $1::text', '(e.tags->>$2::text) = $3::text', 'e.created_at > to_timestamp($4::float8 / 1000)']);
    expect(() => parseFilter('metrics.acc > 1', EXPERIMENT_VOCABULARY)).toThrow(/unknown field prefix 'metrics'/);
  });
});
