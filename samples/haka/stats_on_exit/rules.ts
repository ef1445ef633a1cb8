/**
 * Haka's sample/stats/stats_on_exit.lua in palisade: record every HTTP exchange while the capture
 * plays (http-stats.ts), and report on them once, when palisade exits. The report is four log
 * lines whose fields hold the tables Haka printed.
 */
import { defineRules, engine } from 'palisade';
import { recordHttp, select, top } from './http-stats.ts';

export default defineRules(({ rule, log }) => {
  const stats = recordHttp({ rule });

  rule({
    name: 'report-on-exit',
    on: engine.events.exiting,
    eval: () => {
      log.info({ top: top(stats, 'useragent') }, 'top 10 of useragent header');
      log.info({ rows: select(stats, ['ip', 'method', 'resource']) }, "select columns 'ip', 'method' and 'resource' from the stats table");
      log.info(
        { rows: select(stats, ['ip', 'useragent'], (e) => e.useragent.includes('Mozilla/2.0')) },
        "list of source ip using 'Mozilla/2.0' as user-agent",
      );
      log.info(
        { top: top(select(stats, ['resource', 'status'], (e) => e.status === '404'), 'resource') },
        'top ten of http resources that generated the most 404 status error',
      );
    },
  });
});
