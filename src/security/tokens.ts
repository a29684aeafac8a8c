// API bearer tokens → who and which role. Tokens live in the config only as hashes.
import type { ApiToken, Role } from './config.js';
import { scryptVerify, sha256Hex } from './hash.js';

/** Who made an API call: the token's name and role. */
export interface Principal {
  name: string;
  role: Role;
}

export class TokenVerifier {
  private readonly bySha256: Map<string, Principal>;
  private readonly scryptTokens: Array<{ principal: Principal; hash: string }>;
  // A scrypt check costs ~85 ms: a token that passed one is then recognised by its SHA-256.
  private readonly scryptVerified = new Map<string, Principal>();

  constructor(tokens: readonly ApiToken[]) {
    this.bySha256 = new Map(tokens.filter((t) => t.sha256).map((t) => [t.sha256!, { name: t.name, role: t.role }]));
    this.scryptTokens = tokens.filter((t) => t.scrypt).map((t) => ({ principal: { name: t.name, role: t.role }, hash: t.scrypt! }));
  }

  get size(): number {
    return this.bySha256.size + this.scryptTokens.length;
  }

  async verify(token: string): Promise<Principal | undefined> {
    if (token.length === 0 || token.length > 512) return undefined;
    const digest = sha256Hex(token);
    // A lookup keyed by the digest: its timing says nothing about a token the caller does not have.
    const known = this.bySha256.get(digest) ?? this.scryptVerified.get(digest);
    if (known) return known;
    for (const { principal, hash } of this.scryptTokens) {
      if (await scryptVerify(token, hash)) {
        this.scryptVerified.set(digest, principal);
        return principal;
      }
    }
    return undefined;
  }
}
