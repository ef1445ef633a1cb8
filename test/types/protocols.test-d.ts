/* eslint-disable @typescript-eslint/no-unsafe-call -- the @ts-expect-error lines are wrong on purpose */
import { expectTypeOf, it } from 'vitest';
import { defineFlowDissector, defineRules, dns, flowEvent, http, tls } from 'palisade';
import type { AppProto, ClientHello, Direction, DnsFlow, DnsMessage, DnsRecord, HttpAnomalyKind, HttpHeader, HttpRequest, HttpResponse, HttpTransaction, ServerHello, StreamParser, TcpFlow, TlsCertificateChain } from 'palisade';

it('types the HTTP events for rule authors', () => {
  defineRules(({ rule }) => {
    rule({
      on: http.events.request,
      eval: (flow, request) => {
        expectTypeOf(flow).toEqualTypeOf<TcpFlow>();
        expectTypeOf(request).toEqualTypeOf<HttpRequest>();
        expectTypeOf(request.method).toBeString();
        expectTypeOf(request.path).toBeString();
        expectTypeOf(request.headers.get('host')).toEqualTypeOf<string | undefined>();
        expectTypeOf(request.headers.getAll('cookie')).toEqualTypeOf<string[]>();
        expectTypeOf(request.headers.at(0)).toEqualTypeOf<HttpHeader | undefined>();
        expectTypeOf(request.framing).toEqualTypeOf<'content-length' | 'chunked' | 'none' | 'until-close' | 'invalid'>();
        expectTypeOf(flow.appProto).toEqualTypeOf<AppProto | null>();
        // @ts-expect-error a request has no status
        expectTypeOf(request.status).toBeNever();
      },
    });
    rule({
      on: http.events.response,
      eval: (_flow, response) => {
        expectTypeOf(response).toEqualTypeOf<HttpResponse>();
        expectTypeOf(response.status).toBeNumber();
        expectTypeOf(response.interim).toBeBoolean();
        expectTypeOf(response.request).toEqualTypeOf<HttpRequest | null>();
      },
    });
    rule({
      on: http.events.requestBody,
      eval: (_flow, data, request) => {
        expectTypeOf(data).toEqualTypeOf<Buffer>();
        expectTypeOf(request).toEqualTypeOf<HttpRequest>();
      },
    });
    rule({ on: http.events.transactionEnd, eval: (_flow, tx) => expectTypeOf(tx).toEqualTypeOf<HttpTransaction>() });
    rule({
      on: http.events.anomaly,
      eval: (_flow, a) => {
        expectTypeOf(a.kind).toEqualTypeOf<HttpAnomalyKind>();
        expectTypeOf(a.direction).toEqualTypeOf<Direction>();
      },
    });
  });
});

it('types the TLS and DNS events', () => {
  defineRules(({ rule }) => {
    rule({
      on: tls.events.clientHello,
      eval: (_flow, hello) => {
        expectTypeOf(hello).toEqualTypeOf<ClientHello>();
        expectTypeOf(hello.serverName).toEqualTypeOf<string | null>();
        expectTypeOf(hello.alpn).toEqualTypeOf<string[]>();
        expectTypeOf(hello.ja4).toBeString();
      },
    });
    rule({ on: tls.events.serverHello, eval: (_flow, hello) => expectTypeOf(hello).toEqualTypeOf<ServerHello>() });
    rule({
      on: tls.events.certificate,
      eval: (_flow, chain, direction) => {
        expectTypeOf(chain).toEqualTypeOf<TlsCertificateChain>();
        expectTypeOf(direction).toEqualTypeOf<Direction>();
      },
    });
    rule({
      on: dns.events.query,
      eval: (flow, query) => {
        expectTypeOf(flow).toEqualTypeOf<DnsFlow>();
        expectTypeOf(query).toEqualTypeOf<DnsMessage>();
        expectTypeOf(query.questions[0]?.name).toEqualTypeOf<string | undefined>();
        flow.drop();
        // @ts-expect-error a UDP flow cannot be reset: narrow first ('reset' in flow)
        flow.reset();
        if ('reset' in flow) flow.reset();
      },
    });
    rule({
      on: dns.events.response,
      eval: (_flow, response, query) => {
        expectTypeOf(query).toEqualTypeOf<DnsMessage | null>();
        const r: DnsRecord | undefined = response.answers[0];
        if (r?.typeName === 'MX') expectTypeOf(r.data?.exchange).toEqualTypeOf<string | undefined>();
        if (r?.typeName === 'A') expectTypeOf(r.data).toEqualTypeOf<string | null>();
      },
    });
  });
});

it('types a push-mode flow dissector: its parser and what the directions share', () => {
  const proto = defineFlowDissector({
    name: 'lines',
    events: { line: flowEvent<[flow: TcpFlow, line: string]>() },
    detect: (head) => (head.length < 4 ? undefined : head.toString('latin1', 0, 4) === 'LINE'),
    connection: () => ({ lines: 0 }),
    parser: (flow, _direction, emit, _host, shared): StreamParser => {
      expectTypeOf(shared).toEqualTypeOf<{ lines: number }>();
      return {
        buffered: 0,
        data: (chunk) => {
          shared.lines++;
          emit.line(flow, chunk.toString('latin1'));
          // @ts-expect-error the event's argument is a string
          emit.line(flow, 3);
        },
        end: () => undefined,
      };
    },
  });
  defineRules(({ rule }) => rule({ on: proto.events.line, eval: (_flow, line) => expectTypeOf(line).toBeString() }));
});
