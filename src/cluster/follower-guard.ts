// On a follower the alert API is a read-only copy: an acknowledgement or shelve taken here would be
// overwritten by the leader's state, so it is refused (503) and the answer names the leader.
import type { FastifyInstance } from 'fastify';
import type { ClusterNode } from './node.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function refuseAlertActionsOnFollowers(app: FastifyInstance, node: ClusterNode): void {
  app.addHook('onRequest', async (request, reply) => {
    if (READS.has(request.method) || node.isLeader()) return;
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/alerts') && !path.startsWith('/api/heatwave')) return;
    const { leader } = node.status();
    return reply
      .code(503)
      .header('Retry-After', '1')
      .send({ error: 'not the alert leader', reason: `alerts are kept by the cluster's leader${leader ? ` (${leader})` : ''}; send this to it (its /health says cluster.role "leader")` });
  });
}
