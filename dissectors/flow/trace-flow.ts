/** The flow steps of a frame's trace (dissectors/trace.ts): the flow it joined, and its state after the rules. */
import type { FrameTrace } from '../trace.ts';

interface TracedFlow {
  readonly id: number;
  readonly client: { readonly ip: string; readonly port: number };
  readonly server: { readonly ip: string; readonly port: number };
  readonly state?: string;
  readonly ended?: boolean;
  readonly endReason?: string;
}

const endpoint = (e: { readonly ip: string; readonly port: number }): string => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

/** The flow a frame joined (`created`: this frame opened it), with its state before the rules. */
export function traceFlow(trace: FrameTrace, proto: 'tcp' | 'udp', flow: TracedFlow, created: boolean): void {
  trace.steps.push({
    step: 'flow',
    proto,
    flow: flow.id,
    client: endpoint(flow.client),
    server: endpoint(flow.server),
    new: created,
    ...(flow.state !== undefined ? { state: flow.state } : {}),
  });
}

/** The flow's state after the rules, and its end if it ended. */
export function traceFlowAfter(trace: FrameTrace, flow: TracedFlow): void {
  trace.steps.push({ step: 'flow-after', flow: flow.id, state: flow.state ?? '', ...(flow.ended === true && flow.endReason !== undefined ? { ended: flow.endReason } : {}) });
}
