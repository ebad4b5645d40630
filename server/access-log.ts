// The access log, through Fastify's LogController: one line per answered request (Fastify's default is two,
// "incoming" and "completed"), at the level an operator needs it. Accepted event posts come by the thousand a
// second and are counted by the metrics (nabiz_ingest_requests_total, nabiz_ingest_ack_seconds): they log at debug,
// as do health probes. Everything else, refusals and failures included, logs at info (the error handler adds why,
// server/errors.ts). At 1,000 single-event posts a second, Fastify's two lines cost the API ~15–20 % more CPU per
// request (docs/performance.md).
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

const QUIET_ROUTES = new Set(['/v1/events', '/healthz', '/readyz']);

export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { req: request, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else if (reply.statusCode < 300 && QUIET_ROUTES.has(request.routeOptions.url ?? '')) reply.log.debug(line, 'request completed');
    else reply.log.info(line, 'request completed');
  }
}
