// Chart export (adapters/chart): every registered machine in every format, checked against the
// machine itself; docs/charts must equal freshly generated charts (UPDATE_GOLDEN=1 rewrites them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assign, createMachine, fromPromise, initialTransition, not, and, or, setup, stateIn, type AnyStateMachine, type StateNode, type StateValue } from 'xstate';
import { FORMATS, generateCharts, renderChart, type ChartFormat } from '../../adapters/chart/index.js';
import { toDot } from '../../adapters/chart/dot.js';
import { toMermaid } from '../../adapters/chart/mermaid.js';
import { chartModel, type ChartModel } from '../../adapters/chart/model.js';
import { MACHINES } from '../../adapters/chart/registry.js';
import { dotToSvg } from '../../adapters/chart/svg.js';
import { natsLink } from '../../machines/nats-link.machine.js';
import { trackScript } from '../../machines/track-script.machine.js';

const DIR = path.resolve(import.meta.dirname, '../../docs/charts');

/**
 * A structural check of our Mermaid stateDiagram-v2 output against Mermaid's grammar
 * (stateDiagram.jison): known statement shapes only, composite blocks balanced, every state
 * declared once before use, ids the lexer reads as one ID, labels free of what ends or breaks them.
 */
function mermaidProblems(text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  if (lines[0] !== 'stateDiagram-v2') problems.push('first line is not stateDiagram-v2');
  if (lines.at(-1) !== '') problems.push('no final newline');
  const declared = new Set<string>();
  const used: [string, number][] = [];
  const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
  const checkId = (id: string, n: number) => {
    if (!ID.test(id)) problems.push(`line ${n}: '${id}' is not a plain id`);
    else if (/^default/i.test(id)) problems.push(`line ${n}: '${id}' starts with the keyword 'default'`);
  };
  const checkLabel = (label: string, n: number) => {
    if (label.trim() === '') problems.push(`line ${n}: empty label`);
    const bad = label.match(/[:;"<>{}#%]/);
    if (bad) problems.push(`line ${n}: '${bad[0]}' in label '${label}'`);
  };
  let depth = 0;
  lines.slice(1, -1).forEach((raw, i) => {
    const n = i + 2;
    const line = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^state "([^"\n]*)" as (\S+)( \{)?$/))) {
      checkLabel(m[1]!, n);
      checkId(m[2]!, n);
      if (declared.has(m[2]!)) problems.push(`line ${n}: '${m[2]}' declared twice`);
      declared.add(m[2]!);
      if (m[3]) depth++;
    } else if (line === '}') {
      if (--depth < 0) problems.push(`line ${n}: '}' closes nothing`);
    } else if (line === '--') {
      if (depth === 0) problems.push(`line ${n}: '--' outside a composite state`);
    } else if ((m = line.match(/^(\S+) --> (\S+)(?: : (.*))?$/))) {
      for (const id of [m[1]!, m[2]!]) {
        if (id === '[*]') continue;
        checkId(id, n);
        used.push([id, n]);
      }
      if (m[3] !== undefined) checkLabel(m[3], n);
    } else if ((m = line.match(/^(\S+) : (.*)$/))) {
      checkId(m[1]!, n);
      used.push([m[1]!, n]);
      checkLabel(m[2]!, n);
    } else {
      problems.push(`line ${n}: not a statement this check knows: ${line}`);
    }
  });
  if (depth !== 0) problems.push(`${depth} composite state(s) not closed`);
  for (const [id, n] of used) if (!declared.has(id)) problems.push(`line ${n}: '${id}' is not declared`);
  return problems;
}

/** Every state of a machine, by its path: an independent walk of machine.root. */
function walkStates(machine: AnyStateMachine): string[] {
  const out: string[] = [];
  const visit = (node: StateNode<any, any>) => {
    out.push(node.path.join('.'));
    for (const child of Object.values(node.states)) visit(child as StateNode<any, any>);
  };
  visit(machine.root);
  return out;
}

function countTransitions(machine: AnyStateMachine): number {
  let n = 0;
  const visit = (node: StateNode<any, any>) => {
    for (const list of node.transitions.values()) n += list.length;
    n += node.always?.length ?? 0;
    for (const child of Object.values(node.states)) visit(child as StateNode<any, any>);
  };
  visit(machine.root);
  return n;
}

/** The state ids a snapshot value activates: { a: { b: 'c' } } → a, a.b, a.b.c */
function activeIds(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  return Object.entries(value).flatMap(([k, v]) => [prefix + k, ...(v === undefined ? [] : activeIds(v, `${prefix}${k}.`))]);
}

describe('every registered machine', () => {
  for (const m of MACHINES) {
    test(`${m.name}: every format, checked against the machine`, async () => {
      const machine = await m.load();
      const model = chartModel(m.name, machine);
      for (const format of Object.keys(FORMATS) as ChartFormat[]) {
        assert.ok((await renderChart(model, format)).length > 0, `${m.name} ${format}`);
      }
      const json = JSON.parse(await renderChart(model, 'json')) as ChartModel;
      assert.deepEqual(json.states.map((s) => s.id), walkStates(machine));
      assert.equal(json.transitions.length, countTransitions(machine));
      const ids = new Set(json.states.map((s) => s.id));
      for (const t of json.transitions) for (const id of [t.source, ...t.targets]) assert.ok(ids.has(id), `${t.id}: unknown state '${id}'`);
      for (const s of json.states) if (s.parent !== null) assert.ok(ids.has(s.parent), `${s.id}: unknown parent`);

      const { svg, warnings } = await dotToSvg(toDot(model));
      assert.deepEqual(warnings, []);
      assert.match(svg, /^<\?xml[\s\S]*<\/svg>\n?$/);
      for (const s of json.states.filter((x) => x.id !== '' && x.type !== 'parallel' && x.parent !== null)) {
        assert.ok(svg.includes(`id="state:${s.id}"`), `${m.name}: no SVG element for ${s.id}`);
      }

      assert.deepEqual(mermaidProblems(toMermaid(model)), []);
    });
  }
});

test('state ids are the paths of XState snapshot values, parallel root included', () => {
  const cases: [AnyStateMachine, unknown][] = [
    [natsLink, {}],
    [trackScript, { name: 'chk', intervalMs: 1000, rise: 1, fall: 1, initFail: false, weight: 0, reverse: false }],
  ];
  for (const [machine, input] of cases) {
    const ids = new Set(chartModel('x', machine).states.map((s) => s.id));
    const [snapshot] = initialTransition(machine, input);
    const active = activeIds(snapshot.value);
    assert.ok(active.length > 1);
    for (const id of active) assert.ok(ids.has(id), `${machine.id}: '${id}' is not a state id of the chart`);
  }
});

describe('the model of a small machine with every kind of transition', () => {
  const machine = setup({
    actors: { fetcher: fromPromise(async () => 1) },
    guards: { ready: () => true, late: () => false },
    delays: { patience: 1000 },
  }).createMachine({
    id: 'demo',
    initial: 'idle',
    on: { reset: '.idle', ping: { actions: assign({}) } },
    states: {
      idle: {
        on: { go: { guard: and(['ready', not('late')]), target: 'busy' } },
        after: { patience: 'busy', 500: { target: 'idle', reenter: true } },
      },
      busy: {
        invoke: { id: 'job', src: 'fetcher', onDone: 'both', onError: { guard: or(['late', stateIn('#demo.idle')]), target: 'idle' } },
      },
      both: {
        type: 'parallel',
        states: {
          left: { initial: 'a', states: { a: { always: { target: 'b', guard: 'ready' } }, b: { on: { back: '#demo.both.left.a' } } } },
          right: { initial: 'x', states: { x: { on: { done: '#demo.end' } } } },
        },
        on: { step: '.right.x' },
      },
      end: { type: 'final' },
    },
  });
  const model = chartModel('demo', machine);
  const t = (source: string) => model.transitions.filter((x) => x.source === source)
    .map((x) => [x.trigger, x.guard ?? null, x.targets.join(','), x.kind]);

  test('states: ids, parents, types, initial flags', () => {
    assert.deepEqual(model.states.map((s) => [s.id, s.parent, s.type, s.initial]), [
      ['', null, 'compound', false],
      ['idle', '', 'atomic', true],
      ['busy', '', 'atomic', false],
      ['both', '', 'parallel', false],
      ['both.left', 'both', 'compound', false],
      ['both.left.a', 'both.left', 'atomic', true],
      ['both.left.b', 'both.left', 'atomic', false],
      ['both.right', 'both', 'compound', false],
      ['both.right.x', 'both.right', 'atomic', true],
      ['end', '', 'final', false],
    ]);
    assert.deepEqual(model.states[2]!.invoke, [{ id: 'job', src: 'fetcher' }]);
  });

  test('transitions: events, named and numeric delays, invoke results, guards, always', () => {
    assert.deepEqual(t(''), [['reset', null, 'idle', 'event'], ['ping', null, '', 'event']]);
    assert.deepEqual(t('idle'), [
      ['go', 'and(ready, not(late))', 'busy', 'event'],
      // JavaScript lists integer keys first
      ['after 500ms', null, 'idle', 'after'],
      ['after patience', null, 'busy', 'after'],
    ]);
    assert.deepEqual(t('busy'), [
      ['fetcher done', null, 'both', 'done'],
      ['fetcher error', 'or(late, stateIn(idle))', 'idle', 'error'],
    ]);
    assert.deepEqual(t('both.left.a'), [['always', 'ready', 'both.left.b', 'always']]);
    const after = model.transitions.find((x) => x.trigger === 'after patience')!;
    assert.equal(after.delay, 'patience');
    assert.equal(after.event, 'xstate.after.patience.demo.idle');
    assert.equal(model.transitions.find((x) => x.trigger === 'after 500ms')!.reenter, true);
    assert.deepEqual(model.transitions.find((x) => x.trigger === 'ping')!.actions, ['assign']);
    assert.equal(model.transitions.find((x) => x.kind === 'error')!.actor, 'job');
  });

  test('Mermaid: composites, regions, any-state boxes, transitions after the declarations', () => {
    const text = toMermaid(model);
    assert.deepEqual(mermaidProblems(text), []);
    assert.match(text, /^ {2}state "both" as both \{\n {4}state "left" as both_left \{\n {6}\[\*\] --> both_left_a\n/m);
    assert.match(text, /^ {4}--\n {4}state "right" as both_right \{$/m);
    assert.match(text, /^ {2}end --> \[\*\]$/m);
    assert.match(text, /^ {2}any --> idle : reset$/m);
    assert.match(text, /^ {2}both__any --> both_right_x : step$/m);
    assert.match(text, /^ {2}busy --> idle : fetcher error \[or\(late, stateIn\(idle\)\)\]$/m);
    assert.doesNotMatch(text, /ping/, 'a transition without a target is not drawn');
  });

  test('DOT: clusters, anchors clipped at cluster borders, renders without warnings', async () => {
    const dot = toDot(model);
    assert.match(dot, /subgraph "cluster_both\.left" \{\n\s+graph \[id="state:both\.left", label="left", style="rounded,dashed"/);
    assert.match(dot, /"busy" -> "both" \[label="fetcher done", class="t5", lhead="cluster_both"\];/);
    assert.match(dot, /"any:both" -> "both\.right\.x" \[label="step", class="t\d+"\];/);
    assert.match(dot, /"end" \[id="state:end", label="end", peripheries=2\];/);
    assert.deepEqual((await dotToSvg(dot)).warnings, []);
  });

  test('labels with characters Mermaid cannot take are rewritten, DOT quotes them', async () => {
    const odd = chartModel('odd', createMachine({
      id: 'odd', initial: 'a',
      states: { a: { on: { 'x:y;z"<b>{c}#d%e': 'b' } }, b: {} },
    }));
    const text = toMermaid(odd);
    assert.deepEqual(mermaidProblems(text), []);
    assert.match(text, /a --> b : x∶y⁏z'‹b›\(c\)＃d％e$/m);
    const { svg, warnings } = await dotToSvg(toDot(odd));
    assert.deepEqual(warnings, []);
    assert.ok(svg.includes('x:y;z&quot;&lt;b&gt;{c}#d%e'));
  });
});

test('the Mermaid check finds what it looks for', () => {
  const problems = mermaidProblems(`stateDiagram-v2
  state "a" as a {
  state "b" as b
  b --> c : x: y
  default_x --> b
  hello world
`);
  assert.deepEqual(problems, [
    "line 4: ':' in label 'x: y'",
    "line 5: 'default_x' starts with the keyword 'default'",
    'line 6: not a statement this check knows: hello world',
    '1 composite state(s) not closed',
    "line 4: 'c' is not declared",
    "line 5: 'default_x' is not declared",
  ]);
});

test('docs/charts equals freshly generated charts', async () => {
  const files = await generateCharts();
  if (process.env.UPDATE_GOLDEN) {
    fs.rmSync(DIR, { recursive: true, force: true });
    fs.mkdirSync(DIR, { recursive: true });
    for (const [name, text] of files) fs.writeFileSync(path.join(DIR, name), text);
  }
  const hint = 'run npm run charts (or UPDATE_GOLDEN=1 npm test) and commit docs/charts';
  assert.deepEqual(fs.readdirSync(DIR).sort(), [...files.keys()].sort(), hint);
  for (const [name, text] of files) assert.equal(fs.readFileSync(path.join(DIR, name), 'utf8'), text, `docs/charts/${name} is stale: ${hint}`);
});
