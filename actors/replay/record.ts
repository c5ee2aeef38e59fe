// A record given as a file: JSON lines, one event envelope each, as `vigil events --json` prints
// them. Pure: text in, events out, and every line that is not an event named by file:line:col
// (the replay skips it and says so; it never stops on one bad line).
import type { BusEvent } from '../bus.js';
import { isBusEvent } from '../events.js';

export interface LineProblem {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export function parseEventLines(text: string): { events: BusEvent[]; problems: LineProblem[] } {
  const events: BusEvent[] = [];
  const problems: LineProblem[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      problems.push({ line: i + 1, col: jsonErrorOffset(line) + 1, message: `not JSON: ${(err as Error).message}` });
      return;
    }
    if (isBusEvent(value)) events.push(value);
    else problems.push({ line: i + 1, col: 1, message: 'not a vigil event envelope (v 1, id, time, node, kind, name, type, correlation, data)' });
  });
  return { events, problems };
}

/**
 * Where `text` stops being JSON: the offset of the first character that cannot be there (its
 * length when it ends too early). JSON.parse says it only in some of its messages.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw new JsonStop(i);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) fail();
    i++;
  };
  const string = () => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail();
      i += c === '\\' ? 2 : 1;
    }
    fail();
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          string();
          expect(':');
        }
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(close);
        return;
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    const n = NUMBER.exec(text);
    if (n) {
      i += n[0].length;
      return;
    }
    const word = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
    if (!word) fail();
    i += word!.length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return text.length;
  } catch (err) {
    return err instanceof JsonStop ? Math.min(err.at, text.length) : 0; // nesting too deep to follow: the line's start
  }
}

class JsonStop {
  constructor(readonly at: number) {}
}
