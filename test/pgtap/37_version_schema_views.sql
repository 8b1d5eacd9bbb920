-- No view but the extension's in the new version schema of an active
-- migration (found by a hostile review: a view of the user's there, over
-- the table's old columns, was routed as the new version, and the
-- dual-write trigger overwrote the values written through it with down()
-- of the new version's columns, by INSERT and by COPY).  Making, replacing
-- or moving a view into that schema is refused with 55000; a view in
-- another schema over the version's views works and is routed by them;
-- grants on the version's views still work; after complete, the schema is
-- the user's like any other.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION migrate_ext;

SELECT plan(10);

CREATE TABLE public.t (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text, e integer DEFAULT 7);
INSERT INTO public.t (name, e) VALUES ('a', 1);
SELECT mig.start('01_e', '{"operations": [{"alter_column": {"table": "t", "column": "e",
	"type": "bigint", "up": "e * 10", "down": "(e / 10)::integer"}}]}');
CALL mig.wait();

SELECT throws_ok($$CREATE VIEW public_01_e.userview AS SELECT id, name, e FROM public.t$$, '55000',
	'cannot make view public_01_e.userview in the version schema of migration "01_e" while it is active',
	'a view of the user''s in the new version schema is refused');
SELECT throws_ok($$CREATE OR REPLACE VIEW public_01_e.t AS SELECT id, name, e::bigint AS e FROM public.t$$, '55000', NULL,
	'replacing the version''s own view is refused');
CREATE SCHEMA elsewhere;
CREATE VIEW elsewhere.moved AS SELECT id, name, e FROM public.t;
SELECT throws_ok($$ALTER VIEW elsewhere.moved SET SCHEMA public_01_e$$, '55000', NULL,
	'moving a view into the version schema is refused');
SELECT throws_ok($$ALTER TABLE elsewhere.moved SET SCHEMA public_01_e$$, '55000', NULL,
	'also through ALTER TABLE');
SELECT lives_ok($$GRANT SELECT ON public_01_e.t TO PUBLIC$$, 'grants on the version''s views still work');

-- a view of the user's elsewhere, over the version's view: routed as the version
CREATE VIEW elsewhere.over_new AS SELECT id, name, e FROM public_01_e.t;
INSERT INTO elsewhere.over_new (name, e) VALUES ('through', 500);
SELECT is((SELECT e FROM public_01_e.t WHERE name = 'through'), 500::bigint,
	'a write through a view over the version''s view keeps its value');
SELECT is((SELECT e FROM public.t WHERE name = 'through'), 50,
	'and the old version has down() of it');
-- a view of the user's elsewhere, over the table itself: a write to the table
INSERT INTO elsewhere.moved (name, e) VALUES ('direct', 3);
SELECT is((SELECT e FROM public_01_e.t WHERE name = 'direct'), 30::bigint,
	'a write through a view over the table is a write as the old version');

DROP VIEW elsewhere.moved, elsewhere.over_new;
SELECT is(mig.complete(), 'public_01_e', 'complete');
SELECT lives_ok($$CREATE VIEW public_01_e.userview AS SELECT id, name, e FROM public.t$$,
	'after complete, views may be made in the schema');

SELECT * FROM finish();
ROLLBACK;
