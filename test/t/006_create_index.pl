# Copyright (c) migrate_ext contributors
#
# create_index and drop_index with the background worker: every option of
# create_index (method, unique, predicate, storage parameters; per column
# collate, sort, nulls, operator class with parameters) gives the index
# PostgreSQL itself would give; the index is built concurrently, by the
# worker, while writers go on; rollback drops it; complete keeps it;
# drop_index keeps the index until complete and then has the worker drop it
# concurrently.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('create_index');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE docs (id integer PRIMARY KEY, title text NOT NULL, body text,
		score integer, words tsvector, created date);
	INSERT INTO docs
	SELECT g, 'title ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'body ' || g END,
		g % 100, to_tsvector('simple', 'word' || (g % 50) || ' other'),
		date '2020-01-01' + g % 1000
	FROM generate_series(1, 20000) g;
	ANALYZE docs;
});

# Each option, and what pg_get_indexdef says of an index made by hand.
my @cases = (
	[
		'{"name": "docs_title_idx", "table": "docs", "columns": [{"column": "title"}]}',
		'CREATE INDEX docs_title_idx ON public.docs USING btree (title)'
	],
	[
		'{"name": "docs_title_key", "table": "docs", "unique": true, "columns": [{"column": "title"}]}',
		'CREATE UNIQUE INDEX docs_title_key ON public.docs USING btree (title)'
	],
	[
		'{"name": "docs_score_part", "table": "docs", "columns": [{"column": "score"}], "predicate": "score > 10"}',
		'CREATE INDEX docs_score_part ON public.docs USING btree (score) WHERE (score > 10)'
	],
	[
		'{"name": "docs_score_hash", "table": "docs", "method": "hash", "columns": [{"column": "score"}], "storage_parameters": "fillfactor = 70"}',
		'CREATE INDEX docs_score_hash ON public.docs USING hash (score) WITH (fillfactor=\'70\')'
	],
	[
		'{"name": "docs_body_sorted", "table": "docs", "columns": [{"column": "body", "collate": "C", "sort": "DESC", "nulls": "LAST"}, {"column": "score", "nulls": "FIRST"}]}',
		'CREATE INDEX docs_body_sorted ON public.docs USING btree (body COLLATE "C" DESC NULLS LAST, score NULLS FIRST)'
	],
	[
		'{"name": "docs_title_pattern", "table": "docs", "columns": [{"column": "title", "opclass": {"name": "text_pattern_ops"}}]}',
		'CREATE INDEX docs_title_pattern ON public.docs USING btree (title text_pattern_ops)'
	],
	[
		'{"name": "docs_words_gist", "table": "docs", "method": "gist", "columns": [{"column": "words", "opclass": {"name": "tsvector_ops", "params": ["siglen = 32"]}}]}',
		'CREATE INDEX docs_words_gist ON public.docs USING gist (words tsvector_ops (siglen=\'32\'))'
	],
	[
		'{"name": "docs_words_gin", "table": "docs", "method": "gin", "columns": [{"column": "words"}]}',
		'CREATE INDEX docs_words_gin ON public.docs USING gin (words)'
	],
	[
		'{"name": "docs_created_brin", "table": "docs", "method": "brin", "columns": [{"column": "created"}], "storage_parameters": "pages_per_range = 16"}',
		'CREATE INDEX docs_created_brin ON public.docs USING brin (created) WITH (pages_per_range=\'16\')'
	],);

my $ops = join(",\n", map { qq({"create_index": $_->[0]}) } @cases);
my $doc = qq({"operations": [$ops]});

sub indexdefs
{
	return $node->safe_psql(
		'postgres', q{
		SELECT string_agg(pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid, E'\n'
						  ORDER BY c.relname)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'docs'::regclass AND c.relname <> 'docs_pkey'});
}
my $expected = join("\n", map { "$_->[1] valid=true" } sort { ($a->[1] =~ /INDEX (\S+)/)[0] cmp ($b->[1] =~ /INDEX (\S+)/)[0] } @cases);

#
# 1. Built concurrently: a transaction with an old snapshot holds the build
#    back (a concurrent build waits for every older snapshot), and meanwhile
#    writers are not blocked.
#
my $writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$writer->query_safe('SELECT count(*) FROM pg_class');

$node->safe_psql('postgres', "SELECT mig.start('02_indexes', '$doc')");

# the indexes exist at once, declared, neither ready nor valid
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FILTER (WHERE NOT i.indisvalid AND NOT i.indisready) || '/' || count(*)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = 'docs'::regclass AND c.relname NOT LIKE '%\_ccnew%'}),
	scalar(@cases) . '/' . (scalar(@cases) + 1),
	'after start the indexes are declared, not ready and not valid (the worker may have begun its copies)');

ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker' AND query LIKE '%concurrently%'
		  AND wait_event_type = 'Lock'}),
	'the worker builds an index concurrently and waits for the old snapshot');
is( $node->safe_psql(
		'postgres', q{
		SELECT command FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a ON a.pid = p.pid
		WHERE a.backend_type = 'migrate_ext worker'}),
	'REINDEX CONCURRENTLY',
	'pg_stat_progress_create_index shows the concurrent build');
$node->safe_psql('postgres',
	"SET statement_timeout = '5s'; INSERT INTO docs (id, title) VALUES (100002, 'meanwhile'); UPDATE docs SET score = 1 WHERE id = 5"
);
pass('other writers are not blocked by the build');
is( $node->safe_psql(
		'postgres', q{SELECT state FROM mig.jobs WHERE kind = 'index' ORDER BY seq LIMIT 1}),
	'running', 'mig.jobs shows the build running');

$writer->query_safe('COMMIT');
$writer->quit;

$node->safe_psql('postgres', q{CALL mig.wait('public', '2 min')});
is(indexdefs(), $expected,
	'every option gives the index PostgreSQL gives, valid once built');
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM mig.jobs WHERE kind = 'index' AND state = 'done'}),
	scalar(@cases), 'each index was one job, done');

# the unique index holds for both versions as soon as it is built
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	q{INSERT INTO public_02_indexes.docs (id, title) VALUES (100003, 'title 3')});
like($stderr, qr/duplicate key value violates unique constraint "docs_title_key"/,
	'the built unique index holds');

#
# 2. Rollback drops them; started again and completed, they stay.
#
$node->safe_psql('postgres', q{SELECT mig.rollback()});
is(indexdefs(), '', 'rollback drops every index the migration created');

$node->safe_psql('postgres', "SELECT mig.start('02_indexes', '$doc')");
$node->safe_psql('postgres', q{CALL mig.wait('public', '2 min')});
$node->safe_psql('postgres', q{SELECT mig.complete()});
is(indexdefs(), $expected, 'complete keeps them as they are');
is($node->safe_psql('postgres', q{SELECT count(*) FROM mig.job_queue}),
	'0', 'complete forgets the done jobs');

#
# 3. drop_index: the index stays (and is used) until complete, then the
#    worker drops it concurrently.
#
$node->safe_psql('postgres',
	q{SELECT mig.start('03_drop', '{"operations": [{"drop_index": {"name": "docs_title_pattern"}}, {"drop_index": {"name": "docs_words_gin"}}]}')}
);
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_class WHERE relname IN ('docs_title_pattern', 'docs_words_gin')}),
	'2', 'drop_index keeps the indexes while the migration is in progress');
$node->safe_psql('postgres', q{SELECT mig.complete()});
ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) = 0 FROM pg_class WHERE relname IN ('docs_title_pattern', 'docs_words_gin')}),
	'after complete the worker drops them');
is($node->safe_psql('postgres', q{SELECT count(*) FROM mig.job_queue}),
	'0', 'and forgets its jobs');

#
# 4. rollback while a build waits: the worker is stopped first, and nothing
#    of the build is left.
#
$writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
$writer->query_safe('SELECT count(*) FROM pg_class');
$node->safe_psql('postgres',
	q{SELECT mig.start('04_more', '{"operations": [{"create_index": {"name": "docs_score_idx", "table": "docs", "columns": [{"column": "score"}]}}]}')}
);
ok( $node->poll_query_until(
		'postgres', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker' AND wait_event_type = 'Lock'}),
	'the build waits for the old snapshot');
$node->safe_psql('postgres', q{SELECT mig.rollback()});
is( $node->safe_psql(
		'postgres', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'docs\_score\_idx%'}),
	'0', 'rollback stops the worker and leaves no index, not even a half-built copy');
$writer->query_safe('COMMIT');
$writer->quit;
is($node->safe_psql('postgres', q{SELECT status FROM mig.status()}),
	'Complete', 'the schema is back at the completed migration');

$node->stop;
done_testing();
