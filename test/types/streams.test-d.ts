/* eslint-disable @typescript-eslint/no-unsafe-call -- the @ts-expect-error lines are wrong on purpose */
import { expectTypeOf, it } from 'vitest';
import { defineFlowDissector, defineRules, flowEvent, tcp, tcpConnection } from 'palisade';
import type { Direction, TcpFlow, TcpStream } from 'palisade';

it('types a streamed rule: (flow, stream, direction), async', () => {
  defineRules(({ rule }) => {
    rule({
      on: tcpConnection.events.receiveData,
      options: { streamed: true },
      eval: async (flow, stream, direction) => {
        expectTypeOf(flow).toEqualTypeOf<TcpFlow>();
        expectTypeOf(stream).toEqualTypeOf<TcpStream>();
        expectTypeOf(direction).toEqualTypeOf<Direction>();
        expectTypeOf(await stream.read(4)).toEqualTypeOf<Buffer | null>();
        expectTypeOf(await stream.readLine()).toEqualTypeOf<string | null>();
        for await (const line of stream.lines()) expectTypeOf(line).toBeString();
        for await (const chunk of stream) expectTypeOf(chunk).toEqualTypeOf<Buffer>();
        expectTypeOf(stream.available).toBeNumber();
        expectTypeOf(stream.position).toBeNumber();
        expectTypeOf(await stream.peek(4)).toEqualTypeOf<Buffer | null>();
        expectTypeOf<Parameters<TcpStream['insert']>>().toEqualTypeOf<[bytes: Uint8Array | string]>();
        expectTypeOf<TcpStream['erase']>().toEqualTypeOf<(n: number) => void>();
        expectTypeOf<TcpStream['replace']>().toEqualTypeOf<(n: number, bytes: Uint8Array | string) => void>();
        // @ts-expect-error erase takes a count
        stream.erase('ab');
        expectTypeOf(stream.eof).toBeBoolean();
        flow.send(direction);
      },
    });
    // Without the option, the same event gives the in-order chunk.
    rule({
      on: tcpConnection.events.receiveData,
      eval: (_flow, data, _direction, offset) => {
        expectTypeOf(data).toEqualTypeOf<Buffer>();
        expectTypeOf(offset).toBeNumber();
      },
    });
    // @ts-expect-error a streamed rule listens to receiveData only
    rule({ on: tcp.events.receivePacket, options: { streamed: true }, eval: async () => {} });
  });
});

it('types a flow dissector: its events, emit and rules on them', () => {
  const proto = defineFlowDissector({
    name: 'proto',
    events: {
      command: flowEvent<[flow: TcpFlow, verb: string, args: string[]]>(),
    },
    async receiveStreamed(flow, stream, direction, emit) {
      expectTypeOf(direction).toEqualTypeOf<Direction>();
      const line = await stream.readLine();
      if (line !== null) emit.command(flow, line, []);
      // @ts-expect-error the event's arguments are checked
      emit.command(flow, 42, []);
      // @ts-expect-error only declared events exist
      emit.other(flow);
    },
  });
  defineRules(({ rule }) => {
    proto.onPort(25);
    rule({
      on: proto.events.command,
      eval: (flow, verb, args) => {
        expectTypeOf(flow).toEqualTypeOf<TcpFlow>();
        expectTypeOf(verb).toBeString();
        expectTypeOf(args).toEqualTypeOf<string[]>();
      },
    });
    rule({ on: tcpConnection.events.newConnection, eval: (flow) => proto.enable(flow) });
  });
});
