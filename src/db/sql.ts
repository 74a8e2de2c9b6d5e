// A minimal SQL surface shared by both database kinds, for what Prisma does not do: multi-statement migration
// scripts, advisory locks, and the readiness probe.
export interface SqlRunner {
  /** Runs a script of one or more statements (simple query protocol). */
  exec(script: string): Promise<void>;
  /**
   * One statement. `name` makes it a prepared statement on PostgreSQL (parsed and planned once per connection);
   * for the hot statements of the token endpoint. Ignored where statements cannot be named (PGlite).
   */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[], name?: string): Promise<Row[]>;
  /** Runs fn on one dedicated connection (needed for session-level locks). */
  withConnection<T>(fn: (sql: Omit<SqlRunner, 'withConnection'>) => Promise<T>): Promise<T>;
}
