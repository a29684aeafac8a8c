import type { FastifyRequest } from 'fastify';
import { principalOf } from './auth.js';
import { ApiError } from './errors.js';

/**
 * Who acts (acknowledges, shelves, declares a heat wave): the token's name when there is one
 * (verified; a name typed in the body is kept beside it), otherwise what the body says.
 */
export function actorOf(request: FastifyRequest, by: string | undefined): string {
  const principal = principalOf(request);
  if (principal.name !== 'anonymous') return by && by !== principal.name ? `${by} (${principal.name})` : principal.name;
  if (!by) throw new ApiError(400, 'bad request', 'body.by: say who you are');
  return by;
}
