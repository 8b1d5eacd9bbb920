-- A table renamed by hand while its backfill is unfinished keeps its
-- guard: the new version's view and the dual-write trigger find the
-- backfill of a table by its OID as well as by the name recorded at start,
-- so a row the backfill has not reached is still refused (55000) through
-- the view and by the trigger for a new-version write to the table itself
-- (a table whose migration has no down expression, where such a write is
-- allowed).  Before, both looked the job up by the recorded name only: the
-- trigger then took the table for ready and let the write change a row
-- whose new column the backfill would never write.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(6);

CREATE SCHEMA rn;
SELECT mig.start('01_init', '{"operations": [
	{"create_table": {"name": "items", "columns": [
		{"name": "id", "type": "integer", "pk": true},
		{"name": "name", "type": "text"},
		{"name": "qty", "type": "integer", "nullable": true}]}}]}', 'rn');
SELECT mig.complete('rn');
INSERT INTO rn.items SELECT g, 'n' || g, g FROM generate_series(1, 100) g;

SET LOCAL migrate_ext.start_jobs = off;
SELECT mig.start('02_shout', '{"operations": [{"add_column": {"table": "items",
	"up": "upper(name)", "column": {"name": "shout", "type": "text", "nullable": true}}}]}', 'rn');

ALTER TABLE rn.items RENAME TO items_renamed;

SELECT throws_ok($$SELECT count(*) FROM rn_02_shout.items$$, '55000', NULL,
	'a read through the new version of the renamed table is still refused');

SET LOCAL migrate_ext.version = 'rn_02_shout';
SELECT throws_ok($$UPDATE rn.items_renamed SET qty = qty + 1 WHERE id = 7$$, '55000', NULL,
	'a new-version write to the renamed table itself of a row the backfill has not reached is refused');
RESET migrate_ext.version;
SELECT is((SELECT qty FROM rn.items_renamed WHERE id = 7), 7, 'and changes nothing');

-- a row written since start is served, renamed or not
UPDATE rn.items_renamed SET qty = 70 WHERE id = 7;
SELECT is((SELECT shout FROM rn_02_shout.items WHERE id = 7), 'N7',
	'a row written through the old version since start reads right through the new one');
SET LOCAL migrate_ext.version = 'rn_02_shout';
UPDATE rn.items_renamed SET qty = 71 WHERE id = 7;
RESET migrate_ext.version;
SELECT is((SELECT qty FROM rn.items_renamed WHERE id = 7), 71,
	'and a new-version write to it is allowed');

ALTER TABLE rn.items_renamed RENAME TO items;
CALL mig.backfill('rn');
SELECT is((SELECT count(*)::int FROM rn_02_shout.items WHERE shout IS DISTINCT FROM upper(name)), 0,
	'once renamed back and backfilled, every row reads right');

SELECT * FROM finish();
ROLLBACK;
