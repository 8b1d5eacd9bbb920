-- Routing of writes (issue 14, item 6): a write through a version view is
-- routed by the view's schema, whatever search_path and
-- migrate_ext.version say; a write to the table itself by
-- migrate_ext.version, then search_path; a migrate_ext.version that names
-- no version of the table's migration is an error and writes nothing; a
-- write to the table itself as the new version is refused (0A000) when the
-- table has down rules (see 28_base_write_new_version.sql).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(40);

CREATE SCHEMA rt;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "items", "columns": [
		{"name": "id", "type": "serial", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "legacy", "type": "text", "nullable": true}]}},
	{"create_table": {"name": "tags", "columns": [
		{"name": "id", "type": "serial", "pk": true},
		{"name": "tag", "type": "text"}]}}]}', 'rt');
SELECT mig.complete('rt');
INSERT INTO rt.items (name, legacy) VALUES ('before', 'b');

SET LOCAL migrate_ext.start_jobs = off;
SELECT is(mig.start('02_x', '{"operations": [
	{"add_column": {"table": "items", "up": "''up:'' || name", "column": {"name": "label", "type": "text", "nullable": true}}},
	{"drop_column": {"table": "items", "column": "legacy", "down": "''down:'' || name"}},
	{"add_column": {"table": "tags", "up": "''tagup:'' || tag", "column": {"name": "note", "type": "text", "nullable": true}}}]}', 'rt'),
	'rt_02_x', 'the migration starts');

-- what a row holds in both versions
CREATE FUNCTION pg_temp.item(n text) RETURNS text LANGUAGE sql AS $$
	SELECT format('label=%s legacy=%s', _mig_new_label, legacy) FROM rt.items WHERE name = n
$$;

------------------------------------------------------------------------------
-- a write through a version view is routed by the view
------------------------------------------------------------------------------
SET LOCAL search_path = public;
INSERT INTO rt_02_x.items (name, label) VALUES ('new_explicit', 'mine');
SELECT is(pg_temp.item('new_explicit'), 'label=mine legacy=down:new_explicit',
	'an INSERT naming the new version''s view from search_path public keeps its new value and gets down''s');
UPDATE rt_02_x.items SET label = 'changed' WHERE name = 'new_explicit';
SELECT is(pg_temp.item('new_explicit'), 'label=changed legacy=down:new_explicit',
	'so does an UPDATE through the new version''s view');
INSERT INTO rt_02_x.items (name, label) VALUES ('upsert', 'first')
	ON CONFLICT (id) DO NOTHING;
SELECT is(pg_temp.item('upsert'), 'label=first legacy=down:upsert',
	'and an INSERT ... ON CONFLICT through it');

SET LOCAL search_path = rt_02_x, public;
INSERT INTO rt_01_init.items (name, legacy) VALUES ('old_explicit', 'L');
SELECT is(pg_temp.item('old_explicit'), 'label=up:old_explicit legacy=L',
	'an INSERT naming the old version''s view is the old version even with the new one on search_path');
UPDATE rt_01_init.items SET legacy = 'L2' WHERE name = 'old_explicit';
SELECT is(pg_temp.item('old_explicit'), 'label=up:old_explicit legacy=L2',
	'so is an UPDATE through it');

SET LOCAL migrate_ext.version = 'rt_01_init';
INSERT INTO rt_02_x.items (name, label) VALUES ('pinned_old_view_new', 'v');
SELECT is(pg_temp.item('pinned_old_view_new'), 'label=v legacy=down:pinned_old_view_new',
	'the view decides over migrate_ext.version');
SET LOCAL migrate_ext.version = 'rt_06_typo';
INSERT INTO rt_02_x.items (name, label) VALUES ('typo_view_new', 'v');
SELECT is(pg_temp.item('typo_view_new'), 'label=v legacy=down:typo_view_new',
	'a write through a view does not consult migrate_ext.version at all');
RESET migrate_ext.version;

-- INSERT ... SELECT from one version into the other
SET LOCAL search_path = public;
INSERT INTO rt_02_x.items (name, label)
	SELECT name || '_copy', 'copied' FROM rt_01_init.items WHERE name = 'old_explicit';
SELECT is(pg_temp.item('old_explicit_copy'), 'label=copied legacy=down:old_explicit_copy',
	'INSERT INTO new SELECT FROM old is a new-version write');
INSERT INTO rt_01_init.items (name, legacy)
	SELECT name || '_back', 'x' FROM rt_02_x.items WHERE name = 'new_explicit';
SELECT is(pg_temp.item('new_explicit_back'), 'label=up:new_explicit_back legacy=x',
	'INSERT INTO old SELECT FROM new is an old-version write');

-- one statement, two tables, two versions
WITH t AS (INSERT INTO rt_01_init.tags (tag) VALUES ('cte_old') RETURNING id)
INSERT INTO rt_02_x.items (name, label) SELECT 'cte_new', 'n' FROM t;
SELECT is(pg_temp.item('cte_new'), 'label=n legacy=down:cte_new',
	'a writable WITH: the table written through the new version is a new-version write');
SELECT is((SELECT _mig_new_note FROM rt.tags WHERE tag = 'cte_old'), 'tagup:cte_old',
	'and the table written through the old version an old-version write');
WITH t AS (INSERT INTO rt_02_x.tags (tag, note) VALUES ('cte_unread', 'kept') RETURNING id)
SELECT 1;
SELECT is((SELECT _mig_new_note FROM rt.tags WHERE tag = 'cte_unread'), 'kept',
	'a writable WITH nobody reads (run at the end of the statement) is routed by its view too');

SELECT throws_ok($$WITH t AS (INSERT INTO rt_01_init.items (name) VALUES ('both1') RETURNING id)
	INSERT INTO rt_02_x.items (name) VALUES ('both2')$$, '0A000', NULL,
	'one statement writing the same table through both versions is refused');
SELECT throws_like($$WITH t AS (INSERT INTO rt_01_init.items (name) VALUES ('both1') RETURNING id)
	INSERT INTO rt_02_x.items (name) VALUES ('both2')$$,
	'statement writes table "rt.items" through both version "rt_0%" and version "rt_0%"',
	'saying so');
SELECT is((SELECT count(*)::int FROM rt.items WHERE name LIKE 'both%'), 0, 'and writes nothing');

-- PL/pgSQL: statements inside a function are routed by their own views
CREATE FUNCTION rt.relabel(n text, l text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	UPDATE rt_02_x.items SET label = l WHERE name = n;
END $$;
SELECT rt.relabel('old_explicit', 'from_function');
SELECT is(pg_temp.item('old_explicit'), 'label=from_function legacy=down:old_explicit',
	'an UPDATE through the new version''s view in a PL/pgSQL function is a new-version write');

-- a SQL function and a prepared statement
CREATE FUNCTION rt.add_new(n text, l text) RETURNS void LANGUAGE sql AS $$
	INSERT INTO rt_02_x.items (name, label) VALUES (n, l)
$$;
SELECT rt.add_new('sql_function', 'sf');
SELECT is(pg_temp.item('sql_function'), 'label=sf legacy=down:sql_function',
	'an INSERT through the new version''s view in a SQL function is a new-version write');
PREPARE add_new(text, text) AS INSERT INTO rt_02_x.items (name, label) VALUES ($1, $2);
EXECUTE add_new('prepared', 'p1');
EXECUTE add_new('prepared2', 'p2');
SELECT is(pg_temp.item('prepared2'), 'label=p2 legacy=down:prepared2',
	'so is a prepared INSERT through it, executed again from its cached plan');
DEALLOCATE add_new;
INSERT INTO rt_02_x.items (id, name, label)
	SELECT id, name, 'upserted' FROM rt.items WHERE name = 'upsert'
	ON CONFLICT (id) DO UPDATE SET label = excluded.label;
SELECT is(pg_temp.item('upsert'), 'label=upserted legacy=down:upsert',
	'and the UPDATE of an INSERT ... ON CONFLICT DO UPDATE through it');

-- nesting: a user trigger's statement, run between the rows of an outer
-- statement, neither inherits nor clobbers the outer statement's route
CREATE FUNCTION rt.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO rt.tags (tag) VALUES ('audit:' || NEW.name);
	RETURN NEW;
END $$;
CREATE TRIGGER zz_audit BEFORE INSERT ON rt.items FOR EACH ROW EXECUTE FUNCTION rt.audit();
INSERT INTO rt_02_x.items (name, label) VALUES ('nest1', 'n1'), ('nest2', 'n2'), ('nest3', 'n3');
SELECT is((SELECT string_agg(pg_temp.item(name), ', ' ORDER BY name) FROM rt.items WHERE name LIKE 'nest%'),
	'label=n1 legacy=down:nest1, label=n2 legacy=down:nest2, label=n3 legacy=down:nest3',
	'every row of the outer statement stays a new-version write after the nested statements');
SELECT is((SELECT string_agg(_mig_new_note, ', ' ORDER BY tag) FROM rt.tags WHERE tag LIKE 'audit:nest%'),
	'tagup:audit:nest1, tagup:audit:nest2, tagup:audit:nest3',
	'the nested writes to the table itself are routed by search_path (public: the old version)');
DROP TRIGGER zz_audit ON rt.items;

------------------------------------------------------------------------------
-- a write to the table itself: migrate_ext.version, then search_path
------------------------------------------------------------------------------
SET LOCAL search_path = public;
INSERT INTO rt.items (name, legacy) VALUES ('base_public', 'p');
SELECT is(pg_temp.item('base_public'), 'label=up:base_public legacy=p',
	'a write to the table with search_path public is the old version');
-- as the new version: refused, the table has down rules (legacy)
SET LOCAL search_path = rt_02_x, public;
SELECT throws_ok($$INSERT INTO rt.items (name, _mig_new_label) VALUES ('base_path_new', 'pn')$$,
	'0A000', 'cannot write table "rt.items" itself as version "rt_02_x"',
	'with the new version first on search_path, the new version (refused: down would replace legacy)');
SET LOCAL migrate_ext.version = 'rt_02_x';
SET LOCAL search_path = public;
SELECT throws_ok($$INSERT INTO rt.items (name, _mig_new_label) VALUES ('base_pinned_new', 'bn')$$,
	'0A000', 'cannot write table "rt.items" itself as version "rt_02_x"',
	'migrate_ext.version names the new version (refused the same way)');
SET LOCAL migrate_ext.version = 'rt';
INSERT INTO rt.items (name, legacy) VALUES ('base_pinned_base', 'bb');
SELECT is(pg_temp.item('base_pinned_base'), 'label=up:base_pinned_base legacy=bb',
	'migrate_ext.version naming the base schema is the old version');
SET LOCAL migrate_ext.version = 'rt_01_init';
SET LOCAL search_path = rt_02_x, public;
INSERT INTO rt.items (name, legacy) VALUES ('base_pinned_old', 'bo');
SELECT is(pg_temp.item('base_pinned_old'), 'label=up:base_pinned_old legacy=bo',
	'migrate_ext.version naming the old version wins over search_path');

-- a version that does not exist
SELECT lives_ok($$SET LOCAL migrate_ext.version = 'rt_06_typo'$$,
	'a well-formed version name is accepted by SET (it cannot be looked up there)');
SELECT throws_ok($$INSERT INTO rt.items (name, _mig_new_label) VALUES ('typo', 't')$$, '22023',
	'migrate_ext.version "rt_06_typo" is not a version of table "rt.items"',
	'an INSERT into the table under an unknown version is an error naming it');
SELECT throws_like($$INSERT INTO rt.items (name, _mig_new_label) VALUES ('typo', 't')$$,
	'%rt_06_typo%', 'naming the version');
SELECT is((SELECT count(*)::int FROM rt.items WHERE name = 'typo'), 0, 'and writes nothing');
SELECT throws_ok($$UPDATE rt.items SET _mig_new_label = 'lost' WHERE name = 'before'$$, '22023', NULL,
	'an UPDATE under an unknown version is an error');
SELECT is(pg_temp.item('before'), 'label= legacy=b', 'and changes nothing');
SELECT throws_ok($$COPY rt.items (name, _mig_new_label) FROM PROGRAM 'printf "copied\tc\n"'$$, '22023', NULL,
	'so is a COPY into the table');
SELECT is((SELECT count(*)::int FROM rt.items WHERE name = 'copied'), 0, 'which writes nothing');
CREATE TABLE rt.plain (a int);
SELECT lives_ok($$INSERT INTO rt.plain VALUES (1)$$,
	'a table no migration changes is not concerned');
RESET migrate_ext.version;
SELECT throws_ok($$COPY rt.items (name, _mig_new_label) FROM PROGRAM 'printf "copied\tc\n"'$$,
	'0A000', 'cannot write table "rt.items" itself as version "rt_02_x"',
	'COPY into the table without a pinned version is routed by search_path (the new version first: refused)');
SELECT is((SELECT count(*)::int FROM rt.items WHERE name = 'copied'), 0, 'and writes nothing');

SELECT throws_ok($$SET LOCAL migrate_ext.version = 'a_version_name_that_is_longer_than_sixty_three_bytes_cannot_name_a_schema'$$,
	'22023', NULL, 'a version name too long to be a schema name is refused by SET');

-- the other tables of the migration are checked the same way
SET LOCAL migrate_ext.version = 'other_02_x';
SELECT throws_ok($$INSERT INTO rt.tags (tag, _mig_new_note) VALUES ('t', 'n')$$, '22023', NULL,
	'a version of no migration of this table is refused for every table of the migration');
RESET migrate_ext.version;
RESET search_path;

SELECT * FROM finish();
ROLLBACK;
