-- scripts/demo.sql: migrate_ext at work, seen by an old and a new application.
--
-- Run it with psql on an empty database of a server that preloads the library
-- (shared_preload_libraries = 'migrate_ext'); scripts/setup.sh does exactly
-- that in a throwaway cluster:
--     psql -X -d demo -f scripts/demo.sql
--
-- Migrations are pgroll documents passed as jsonb.  Each one creates a version
-- schema "public_<migration name>" of views over the tables in "public"; an
-- application picks its version with search_path.

\set ON_ERROR_STOP on
\set QUIET on
\pset pager off
\set ECHO queries

\echo
\echo '=== 1. Install the extension (its functions live in schema mig)'
CREATE EXTENSION migrate_ext;
SELECT * FROM mig.status();

\echo
\echo '=== 2. First migration, 01_init: create tables users and posts'
\echo '       (its "old version" is the base schema public itself)'
SELECT mig.start('01_init', $migration$
{
  "operations": [
    {"create_table": {
      "name": "users",
      "columns": [
        {"name": "id",    "type": "serial", "pk": true},
        {"name": "name",  "type": "text"},
        {"name": "email", "type": "text", "nullable": true}
      ]}},
    {"create_table": {
      "name": "posts",
      "columns": [
        {"name": "id",      "type": "serial", "pk": true},
        {"name": "user_id", "type": "integer",
         "references": {"name": "posts_user_id_fkey", "table": "users", "column": "id"}},
        {"name": "title",   "type": "text"}
      ]}}
  ]
}
$migration$) AS new_version_schema;
SELECT * FROM mig.status();
SELECT mig.complete();
SELECT * FROM mig.status();

\echo
\echo '-- the app (search_path = public_01_init) writes some rows'
SET search_path = public_01_init;
INSERT INTO users (name, email) VALUES
	('Alice', 'alice@example.com'),
	('Bob', NULL);
INSERT INTO posts (user_id, title) VALUES
	((SELECT id FROM users WHERE name = 'Alice'), 'Hello'),
	((SELECT id FROM users WHERE name = 'Alice'), 'Zero downtime, how?'),
	((SELECT id FROM users WHERE name = 'Bob'), 'First post');
SELECT * FROM users ORDER BY id;
SELECT * FROM posts ORDER BY id;
RESET search_path;

\echo
\echo '=== 3. Second migration, 02_rename_and_add: rename users.name to full_name,'
\echo '       add the nullable column users.bio, rename table posts to articles'
SELECT mig.start('02_rename_and_add', $migration$
{
  "operations": [
    {"rename_column": {"table": "users", "from": "name", "to": "full_name"}},
    {"add_column": {"table": "users",
                    "column": {"name": "bio", "type": "text", "nullable": true}}},
    {"rename_table": {"from": "posts", "to": "articles"}}
  ]
}
$migration$) AS new_version_schema;
SELECT * FROM mig.status();
SELECT mig.previous_version() AS old_version, mig.latest_version() AS new_version;

\echo
\echo '-- both versions are live now: the old app keeps running unchanged ...'
\echo '-- old app (search_path = public_01_init) writes a user and a post'
SET search_path = public_01_init;
INSERT INTO users (name, email) VALUES ('Carol', 'carol@example.com');
INSERT INTO posts (user_id, title)
	VALUES ((SELECT id FROM users WHERE name = 'Carol'), 'Written by the old app');
SELECT * FROM users ORDER BY id;
SELECT * FROM posts ORDER BY id;

\echo
\echo '-- ... while the new app is deployed against the new version'
\echo '-- new app (search_path = public_02_rename_and_add) writes a user and an article'
SET search_path = public_02_rename_and_add;
INSERT INTO users (full_name, email, bio)
	VALUES ('Dave', NULL, 'Writes through the new version');
INSERT INTO articles (user_id, title)
	VALUES ((SELECT id FROM users WHERE full_name = 'Dave'), 'Written by the new app');
SELECT * FROM users ORDER BY id;
SELECT * FROM articles ORDER BY id;

\echo
\echo '-- old app (search_path = public_01_init) reads: it sees the new app rows, in its own shape'
SET search_path = public_01_init;
SELECT * FROM users ORDER BY id;
SELECT * FROM posts ORDER BY id;
RESET search_path;

\echo
\echo '=== 4. Complete 02_rename_and_add: the old version schema is dropped'
SELECT mig.complete();
SELECT * FROM mig.status();
SELECT nspname AS version_schemas FROM pg_namespace
	WHERE nspname LIKE 'public%' ORDER BY 1;
SELECT to_regnamespace('public_01_init') IS NULL AS old_version_gone;

\echo
\echo '-- new app (search_path = public_02_rename_and_add) still works'
SET search_path = public_02_rename_and_add;
INSERT INTO users (full_name, bio) VALUES ('Erin', 'Arrived after the migration');
SELECT * FROM users ORDER BY id;
SELECT a.id, a.title, u.full_name AS author
	FROM articles a JOIN users u ON u.id = a.user_id ORDER BY a.id;
RESET search_path;

\echo
\echo '-- the physical tables in public now have the new names'
SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) AS columns
	FROM information_schema.columns
	WHERE table_schema = 'public'
	GROUP BY table_name ORDER BY table_name;

\echo
\echo '=== 5. Third migration, 03_email_required: every user gets an email (up fills'
\echo '       the missing ones), and titles get an index.  A background worker'
\echo '       backfills existing rows and builds the index concurrently; CALL mig.wait'
\echo '       waits for it without holding a snapshot'
SELECT mig.start('03_email_required', $migration$
{
  "operations": [
    {"alter_column": {"table": "users", "column": "email", "nullable": false,
                      "up": "coalesce(email, lower(replace(full_name, ' ', '.')) || '@example.com')",
                      "down": "email"}},
    {"create_index": {"name": "articles_title_idx", "table": "articles",
                      "columns": [{"column": "title"}]}}
  ]
}
$migration$) AS new_version_schema;
CALL mig.wait();
SELECT kind, "table", object, state, rows_done FROM mig.jobs ORDER BY seq;
SELECT * FROM mig.status();
SELECT mig.complete();
SELECT id, full_name, email FROM users ORDER BY id;

\echo
\echo '-- the history of migrations'
SELECT name, parent, status FROM mig.migrations ORDER BY created_at, name;
