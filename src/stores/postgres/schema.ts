/**
 * Schema of the PostgreSQL store, as ordered migrations recorded in `<prefix>schema`. Times
 * are milliseconds since the epoch in `double precision` (exact below 2^53, and read back by
 * `pg` as numbers without a global type parser).
 */
export function migrations(prefix: string): string[] {
  const s = `${prefix}sessions`;
  const c = `${prefix}changes`;
  return [
    `CREATE TABLE IF NOT EXISTS ${s} (
       id text PRIMARY KEY,
       user_id text NOT NULL,
       strategy text NOT NULL,
       secret_hash text,
       previous_secret_hash text,
       previous_valid_until double precision,
       successor text,
       created_at double precision NOT NULL,
       last_active_at double precision NOT NULL,
       renewed_at double precision NOT NULL,
       auth_time double precision NOT NULL,
       expires_at double precision NOT NULL,
       absolute_expires_at double precision NOT NULL,
       ip text,
       user_agent text,
       data jsonb NOT NULL,
       version integer NOT NULL
     );
     CREATE INDEX IF NOT EXISTS ${s}_user ON ${s} (user_id, created_at);
     CREATE INDEX IF NOT EXISTS ${s}_expiry ON ${s} (expires_at);
     CREATE TABLE IF NOT EXISTS ${c} (
       seq bigserial PRIMARY KEY,
       id text NOT NULL,
       user_id text NOT NULL,
       strategy text NOT NULL,
       expires_at double precision NOT NULL,
       reason text NOT NULL,
       origin text NOT NULL
     );
     CREATE INDEX IF NOT EXISTS ${c}_expiry ON ${c} (expires_at);`,
    // 2: the key a session is bound to (DPoP, DBSC); existing sessions stay unbound.
    `ALTER TABLE ${s} ADD COLUMN IF NOT EXISTS binding text;`,
  ];
}

/** Table-name prefixes are interpolated into SQL, so only plain identifiers are allowed. */
export const PREFIX_PATTERN = /^[a-z_][a-z0-9_]{0,40}$/;
