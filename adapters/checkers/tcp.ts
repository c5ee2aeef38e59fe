// TCP_CHECK (keepalived/check/check_tcp.c): the connect succeeds within the timeout, then close.
import type { CheckerCommon } from '../config/model.js';
import { connectTcp, destination, requirePort } from './net.js';
import { scoped, toResult, type Verdict } from './scope.js';
import type { ProbeOptions, ProbeResult, ProbeTarget } from './types.js';

export async function probeTcp(checker: CheckerCommon, target: ProbeTarget, opts: ProbeOptions): Promise<ProbeResult> {
  return toResult(await scoped<Verdict>(opts, (s) => {
    const dst = destination(checker, target);
    if (!requirePort(s, dst)) return;
    connectTcp(s, dst, checker, () => s.succeed({ detail: 'connected' }));
  }));
}
