import 'dotenv/config';
import { migrate } from '../libs/db/src/migrate';

/** `npm run db:migrate`: applies prisma/migrations to DATABASE_URL. */
async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new Error(
      'DATABASE_URL is not set: set it (in the environment or .env) to the database to migrate, or run `npm start`, which starts local Postgres and Redis',
    );
  }
  const applied = await migrate(databaseUrl, undefined, (line) => console.log(line));
  console.log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date: nothing to apply');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
