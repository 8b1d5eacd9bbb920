-- alter_column: the column is duplicated; each version reads and writes its
-- own copy, up and down keep them in step, constraints the operation adds
-- hold in the new version only; rollback leaves nothing and loses no row,
-- complete leaves the final column with the old one's name.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(62);

CREATE SCHEMA app;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "users", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"}]}},
	{"create_table": {"name": "posts", "columns": [
		{"name": "id", "type": "serial", "pk": true},
		{"name": "title", "type": "text", "nullable": true},
		{"name": "rating", "type": "text", "nullable": true, "default": "''0''",
		 "comment": "stars, as text"},
		{"name": "user_id", "type": "integer", "nullable": true},
		{"name": "body", "type": "text", "default": "''x''"}]}}]}', 'app');
SELECT mig.complete('app');
CREATE INDEX posts_title_idx ON app.posts (title) WHERE title <> '';
CREATE INDEX posts_lower_title_idx ON app.posts (lower(title) DESC NULLS LAST);
INSERT INTO app.users VALUES (1, 'ann'), (2, 'bob');
INSERT INTO app.posts (title, rating, user_id, body)
	SELECT 'post' || g, (g % 5)::text, CASE WHEN g % 10 = 0 THEN 99 ELSE g % 2 + 1 END, 'b' || g
	FROM generate_series(1, 300) g;
INSERT INTO app.posts (title, rating, user_id) VALUES (NULL, NULL, NULL), ('ab', '4', 1);
CREATE TEMP TABLE before AS SELECT mig.read_schema('app') AS s;

------------------------------------------------------------------------------
-- type, default and comment (pgroll examples 18, 28, 36)
------------------------------------------------------------------------------
SELECT is(mig.start('02_rating', '{"operations": [{"alter_column": {"table": "posts",
	"column": "rating", "type": "integer", "default": "1", "comment": "stars",
	"up": "CAST(rating AS integer)", "down": "CAST(rating AS text)"}}]}', 'app'),
	'app_02_rating', 'alter_column with a new type, default and comment starts');
SELECT col_type_is('app_02_rating', 'posts', 'rating', 'integer', 'the new version sees the new type');
SELECT col_type_is('app_01_init', 'posts', 'rating', 'text', 'the old version keeps the old type');
CALL mig.wait('app');
SELECT is((SELECT sum(rating)::int FROM app_02_rating.posts), (SELECT sum(rating::int)::int FROM app.posts),
	'after the backfill the new version has up(old) in every row');

SET LOCAL search_path = app_01_init, public;
INSERT INTO posts (title, rating) VALUES ('from old', '7');
UPDATE posts SET rating = '3' WHERE title = 'post1';
SET LOCAL search_path = app_02_rating, public;
INSERT INTO posts (title, rating) VALUES ('from new', 9);
INSERT INTO posts (title) VALUES ('new default');
RESET search_path;
SELECT results_eq($$SELECT rating FROM app_02_rating.posts WHERE title IN ('from old', 'post1') ORDER BY title$$,
	$$VALUES (7), (3)$$, 'rows written through the old version show up''s result in the new one');
SELECT results_eq($$SELECT rating FROM app_01_init.posts WHERE title IN ('from new', 'new default') ORDER BY title$$,
	$$VALUES ('9'::text), ('1')$$, 'rows written through the new version show down''s result in the old one, with the new default');
SELECT is((SELECT rating FROM app_02_rating.posts WHERE title IS NULL), NULL::int, 'a NULL stays NULL');

SELECT mig.rollback('app');
SELECT is(mig.read_schema('app'), (SELECT s FROM before), 'rollback leaves the schema exactly as before');
SELECT is((SELECT count(*)::int FROM app.posts), 305, 'rollback loses no row');
SELECT is((SELECT rating FROM app.posts WHERE title = 'from new'), '9', 'and keeps what the new version wrote, as down made it');
SELECT is((SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'app.posts'::regclass AND attname LIKE '_mig%' AND NOT attisdropped), 0,
	'no internal column is left');

SELECT mig.start('02_rating', '{"operations": [{"alter_column": {"table": "posts",
	"column": "rating", "type": "integer", "default": "1", "comment": "stars",
	"up": "CAST(rating AS integer)", "down": "CAST(rating AS text)"}}]}', 'app');
CALL mig.wait('app');
SELECT is(mig.complete('app'), 'app_02_rating', 'complete succeeds after the backfill');
SELECT col_type_is('app', 'posts', 'rating', 'integer', 'after complete the column has the new type');
SELECT col_default_is('app', 'posts', 'rating', '1', 'and the new default');
SELECT is(col_description('app.posts'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'app.posts'::regclass AND attname = 'rating')),
	'stars', 'and the new comment');
SELECT is((SELECT sum(rating)::int FROM app.posts), (SELECT sum(rating)::int FROM app_02_rating.posts), 'and the data the new version saw');
SELECT has_index('app', 'posts', 'posts_title_idx', 'indexes on other columns are untouched');
SELECT hasnt_trigger('app', 'posts', '~mig_dual_write', 'the trigger is gone');
SELECT is((SELECT count(*)::int FROM pg_attribute WHERE attrelid = 'app.posts'::regclass AND attname LIKE '_mig%' AND NOT attisdropped), 0,
	'no internal column is left');
DELETE FROM app.posts WHERE title IN ('from new', 'new default');

------------------------------------------------------------------------------
-- everything at once (pgroll example 35), a subquery in up (example 21),
-- the same column changed twice (pgroll #659)
------------------------------------------------------------------------------
CREATE TEMP TABLE before3 AS SELECT mig.read_schema('app') AS s;
SELECT is(mig.start('03_all', '{"operations": [
	{"alter_column": {"table": "posts", "column": "user_id",
	 "references": {"name": "fk_users_id", "table": "users", "column": "id", "on_delete": "CASCADE"},
	 "up": "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END",
	 "down": "user_id"}},
	{"alter_column": {"table": "posts", "column": "title",
	 "check": {"name": "title_length", "constraint": "length(title) > 3"},
	 "up": "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, ''-'') ELSE title END",
	 "down": "title"}},
	{"alter_column": {"table": "posts", "column": "title", "nullable": false,
	 "up": "coalesce(title, ''untitled'')", "down": "title"}},
	{"alter_column": {"table": "posts", "column": "body", "unique": {"name": "posts_body_unique"},
	 "comment": "the text", "up": "body || ''-'' || id", "down": "body"}}]}', 'app'),
	'app_03_all', 'four alter_column operations, two on the same column, start');
CALL mig.wait('app');
SELECT is((SELECT count(*)::int FROM mig.jobs WHERE schema = 'app' AND kind = 'backfill'), 1, 'one backfill pass serves all of them');
SELECT is((SELECT title FROM app_03_all.posts WHERE title IS NULL OR title = 'untitled'), 'untitled',
	'a NULL title went through both changes: up of the first, then up of the second');
SELECT is((SELECT title FROM app_03_all.posts WHERE id = (SELECT id FROM app.posts WHERE title = 'ab')), '--ab',
	'a short title is padded by the first change');
SELECT is((SELECT count(*)::int FROM app_03_all.posts WHERE user_id IS NULL), 32,
	'the subquery in up cleared the 30 user ids with no user (2 rows had none)');
SELECT is((SELECT count(*)::int FROM app_02_rating.posts WHERE user_id = 99), 30, 'the old version still has them');

-- constraints hold in the new version only
SET LOCAL search_path = app_02_rating, public;
SELECT lives_ok($$INSERT INTO posts (title, user_id, body) VALUES (NULL, 77, 'dup')$$,
	'the old version may still write a NULL title and an unknown user');
SELECT lives_ok($$INSERT INTO posts (title, body) VALUES ('abc', 'dup')$$,
	'and a body the new version already has (up makes it unique)');
SET LOCAL search_path = app_03_all, public;
SELECT throws_ok($$INSERT INTO posts (title, body) VALUES (NULL, 'n1')$$, '23514', NULL,
	'the new version rejects a NULL title');
SELECT throws_ok($$INSERT INTO posts (title, body) VALUES ('abc', 'n2')$$, '23514', NULL,
	'and a title the new check rejects');
SELECT throws_ok($$INSERT INTO posts (title, user_id, body) VALUES ('long enough', 77, 'n3')$$, '23503', NULL,
	'and an unknown user');
SELECT lives_ok($$INSERT INTO posts (title, user_id, body) VALUES ('long enough', 2, 'n4')$$,
	'a row that satisfies everything goes in');
SELECT throws_ok($$INSERT INTO posts (title, body) VALUES ('long enough 2', 'n4')$$, '23505', NULL,
	'the new unique constraint holds');
RESET search_path;
SELECT is((SELECT title FROM app_02_rating.posts WHERE body = 'n4'), 'long enough',
	'the row written through the new version reads the same through the old');
SELECT is((SELECT title FROM app_03_all.posts WHERE body LIKE 'dup-%' AND user_id IS NULL AND title = 'untitled'), 'untitled',
	'the old version''s NULL title went through both up expressions');

SELECT mig.rollback('app');
SELECT is(mig.read_schema('app'), (SELECT s FROM before3), 'rollback leaves the schema exactly as before');
SELECT is((SELECT count(*)::int FROM app.posts), 306, 'rollback loses no row');
SELECT hasnt_index('app', 'posts', 'posts_body_unique', 'the unique index is gone');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'app.posts'::regclass AND conname IN ('fk_users_id', 'title_length')), 0,
	'the new constraints are gone');
DELETE FROM app.posts WHERE body IN ('dup', 'n4');
UPDATE app.posts SET user_id = 1 WHERE user_id = 77;

SELECT mig.start('03_all', '{"operations": [
	{"alter_column": {"table": "posts", "column": "user_id",
	 "references": {"name": "fk_users_id", "table": "users", "column": "id", "on_delete": "CASCADE"},
	 "up": "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END",
	 "down": "user_id"}},
	{"alter_column": {"table": "posts", "column": "title",
	 "check": {"name": "title_length", "constraint": "length(title) > 3"},
	 "up": "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, ''-'') ELSE title END",
	 "down": "title"}},
	{"alter_column": {"table": "posts", "column": "title", "nullable": false,
	 "up": "coalesce(title, ''untitled'')", "down": "title"}},
	{"alter_column": {"table": "posts", "column": "body", "unique": {"name": "posts_body_unique"},
	 "comment": "the text", "up": "body || ''-'' || id", "down": "body"}}]}', 'app');
CALL mig.wait('app');
SELECT is(mig.complete('app'), 'app_03_all', 'complete succeeds');
SELECT col_not_null('app', 'posts', 'title', 'title is NOT NULL');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'app.posts'::regclass AND conname = 'title_length'),
	'CHECK ((length(title) > 3))', 'the check is on the final column, validated');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'app.posts'::regclass AND conname = 'fk_users_id'),
	'FOREIGN KEY (user_id) REFERENCES app.users(id) ON DELETE CASCADE', 'the foreign key is on the final column, validated');
SELECT col_is_unique('app', 'posts', ARRAY['body'], 'body is unique');
SELECT is((SELECT contype::text FROM pg_constraint WHERE conrelid = 'app.posts'::regclass AND conname = 'posts_body_unique'),
	'u', 'as the named constraint');
SELECT is(col_description('app.posts'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'app.posts'::regclass AND attname = 'body')),
	'the text', 'body has its new comment');
SELECT col_default_is('app', 'posts', 'body', 'x', 'and keeps its default');
SELECT has_index('app', 'posts', 'posts_title_idx', 'the partial index on title was carried over under its name');
SELECT is((SELECT pg_get_indexdef('app.posts_title_idx'::regclass)),
	'CREATE INDEX posts_title_idx ON app.posts USING btree (title) WHERE (title <> ''''::text)', 'with its predicate');
SELECT is((SELECT pg_get_indexdef('app.posts_lower_title_idx'::regclass)),
	'CREATE INDEX posts_lower_title_idx ON app.posts USING btree (lower(title) DESC NULLS LAST)',
	'an expression index was carried over with its ordering');
SELECT is((SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'app.posts'::regclass AND conname LIKE '\_mig%'), 0,
	'no internal constraint is left');
SELECT is((SELECT count(*)::int FROM app.posts WHERE title = 'untitled'), 1, 'the data are the new version''s');
SELECT is((SELECT count(*)::int FROM app.posts), 303, 'and no row is lost');

------------------------------------------------------------------------------
-- nullable: true (example 31), a serial key retyped, and a table created
-- in the same migration changed in place
------------------------------------------------------------------------------
SELECT mig.start('04_loose', '{"operations": [
	{"alter_column": {"table": "posts", "column": "title", "nullable": true,
	 "up": "title", "down": "SELECT CASE WHEN title IS NULL THEN ''placeholder title'' ELSE title END"}},
	{"alter_column": {"table": "posts", "column": "id", "type": "bigint", "up": "id", "down": "id"}},
	{"create_table": {"name": "tags", "columns": [{"name": "id", "type": "integer", "pk": true},
		{"name": "label", "type": "text", "nullable": true}]}},
	{"alter_column": {"table": "tags", "column": "label", "type": "varchar(20)", "nullable": false,
	 "up": "label", "down": "label"}}]}', 'app');
SET LOCAL search_path = app_04_loose, public;
INSERT INTO posts (title, body) VALUES (NULL, 'nullable now');
RESET search_path;
SELECT is((SELECT title FROM app_04_loose.posts WHERE body = 'nullable now'), NULL,
	'the new version may write a NULL title');
SELECT is((SELECT title FROM app_03_all.posts WHERE body = 'nullable now'), 'placeholder title',
	'the old version, whose title is NOT NULL, reads what down made of it');
SELECT col_type_is('app_04_loose', 'posts', 'id', 'bigint', 'the new version sees the key as bigint');
SELECT hasnt_trigger('app', 'tags', '~mig_dual_write', 'a table created by the migration gets no trigger');
CALL mig.wait('app');
SELECT mig.complete('app');
SELECT col_is_null('app', 'posts', 'title', 'after complete title is nullable');
SELECT col_type_is('app', 'posts', 'id', 'bigint', 'the key is bigint');
SELECT col_is_pk('app', 'posts', 'id', 'and still the primary key');
SELECT is(pg_get_serial_sequence('app.posts', 'id'), 'app.posts_id_seq', 'and still owns its sequence');
SELECT lives_ok($$INSERT INTO app.posts (title, body) VALUES ('after', 'after')$$, 'which still fills it');
SELECT col_type_is('app', 'tags', 'label', 'character varying(20)', 'the new table''s column was changed in place');

SELECT * FROM finish();
ROLLBACK;
