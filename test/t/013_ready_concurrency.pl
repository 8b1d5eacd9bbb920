
# Copyright (c) migrate_ext contributors
#
# The new version under load while the background worker backfills
# (issue 14, item 5): no write through either version loses a value, and
# the new version never shows a value that is not the right one.
#
# acct(id, bal int) holds 200,000 rows (bal = id).  The migration changes
# bal to bigint (up bal::bigint, down bal::int) and the worker backfills it,
# throttled so that the backfill takes a few seconds.  Meanwhile, each in its
# own session and committing every write:
#
#  - old-version writers add random amounts to random rows for as long as
#    the backfill runs, and a little longer;
#  - new-version writers do the same through the new version, with UPDATE,
#    INSERT ... ON CONFLICT DO UPDATE on existing rows, and INSERT of new
#    rows; a write the new version refuses as not ready (55000) is retried;
#  - a reader compares, in one statement (one snapshot), every row's bal
#    through the new version with the old column: they must be equal
#    whenever the read is allowed.
#
# Each committed write is recorded in a ledger in the same transaction.  At
# the end every row's bal must be its initial value plus the sum of its
# ledger entries, through the old version, the new one, and after complete.
# Before this fix, a new-version update of a row the backfill had not
# reached stored NULL in both versions, and the reader saw NULLs.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $rows = 200_000;

my $node = PostgreSQL::Test::Cluster->new('ready_concurrency');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
max_connections = 40
autovacuum = off
});
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION migrate_ext;
	ALTER SYSTEM SET migrate_ext.backfill_batch_size = 2000;
	ALTER SYSTEM SET migrate_ext.backfill_delay = 30;
	SELECT pg_reload_conf();
	SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "acct",
		"columns": [{"name": "id", "type": "integer", "pk": true},
					{"name": "bal", "type": "integer", "nullable": true}]}}]}');
	SELECT mig.complete();
	INSERT INTO public.acct SELECT g, g FROM generate_series(1, $rows) g;
	VACUUM ANALYZE public.acct;
	CREATE SCHEMA chk;
	CREATE TABLE chk.ledger (who text NOT NULL, id integer NOT NULL, delta integer NOT NULL,
		during_backfill boolean NOT NULL);
	CREATE TABLE chk.runs (who text PRIMARY KEY, writes integer, refused integer,
		reads integer, mismatches bigint);
	CREATE SEQUENCE chk.new_ids START 1000001;

	-- A writer: n committed writes (more while the backfill runs, for the
	-- old version), each retried while the new version refuses it.  The
	-- table is named without a schema: the session's search_path picks the
	-- version, as an application's would.
	CREATE PROCEDURE chk.hammer(who text, n integer, during_backfill boolean)
	LANGUAGE plpgsql AS \$\$
	DECLARE
		k integer;
		d integer;
		op integer;
		ok boolean;
		writes integer := 0;
		refused integer := 0;
		deadline timestamptz := clock_timestamp() + interval '120 s';
	BEGIN
		k := 1 + floor(random() * $rows)::integer;
		d := 1 + floor(random() * 9)::integer;
		op := floor(random() * 10)::integer;
		LOOP
			ok := false;
			BEGIN
				IF who LIKE 'old%' OR op < 6 THEN
					UPDATE acct SET bal = bal + d WHERE id = k;
				ELSIF op < 9 THEN
					INSERT INTO acct VALUES (k, d)
						ON CONFLICT (id) DO UPDATE SET bal = acct.bal + excluded.bal;
				ELSE
					k := nextval('chk.new_ids');
					INSERT INTO acct VALUES (k, d);
				END IF;
				INSERT INTO chk.ledger VALUES (who, k, d, EXISTS (
					SELECT 1 FROM mig.job_queue WHERE kind = 'backfill' AND state <> 'done'));
				ok := true;
			EXCEPTION WHEN object_not_in_prerequisite_state THEN
				refused := refused + 1;
			END;
			COMMIT;
			IF ok THEN
				writes := writes + 1;
				k := 1 + floor(random() * $rows)::integer;
				d := 1 + floor(random() * 9)::integer;
				op := floor(random() * 10)::integer;
				PERFORM pg_sleep(0.001);
			ELSE
				PERFORM pg_sleep(0.01);
			END IF;
			EXIT WHEN clock_timestamp() > deadline;
			EXIT WHEN writes >= n AND NOT (during_backfill AND EXISTS (
				SELECT 1 FROM mig.job_queue WHERE kind = 'backfill' AND state <> 'done'));
		END LOOP;
		INSERT INTO chk.runs (who, writes, refused) VALUES (who, writes, refused);
	END
	\$\$;

	-- The reader: random rows, then every row, through the new version
	-- against the old column, each in one statement (one snapshot), until
	-- the backfill is done and a few full reads passed.
	CREATE PROCEDURE chk.reader()
	LANGUAGE plpgsql AS \$\$
	DECLARE
		m bigint;
		reads integer := 0;
		full_reads integer := 0;
		refused integer := 0;
		mismatches bigint := 0;
		deadline timestamptz := clock_timestamp() + interval '120 s';
	BEGIN
		LOOP
			FOR i IN 1 .. 20 LOOP
				BEGIN
					SELECT count(*) INTO m
					FROM public_02_x.acct n JOIN public.acct t USING (id)
					WHERE n.id = 1 + floor(random() * $rows)::integer
					  AND n.bal IS DISTINCT FROM t.bal;
					reads := reads + 1;
					mismatches := mismatches + m;
				EXCEPTION WHEN object_not_in_prerequisite_state THEN
					refused := refused + 1;
				END;
			END LOOP;
			BEGIN
				SELECT count(*) INTO m
				FROM public_02_x.acct n JOIN public.acct t USING (id)
				WHERE n.bal IS DISTINCT FROM t.bal;
				full_reads := full_reads + 1;
				mismatches := mismatches + m;
			EXCEPTION WHEN object_not_in_prerequisite_state THEN
				refused := refused + 1;
			END;
			COMMIT;
			EXIT WHEN clock_timestamp() > deadline;
			EXIT WHEN full_reads >= 3 AND NOT EXISTS (
				SELECT 1 FROM mig.job_queue WHERE kind = 'backfill' AND state <> 'done');
			PERFORM pg_sleep(0.1);
		END LOOP;
		INSERT INTO chk.runs (who, refused, reads, mismatches)
			VALUES ('reader', refused, reads + full_reads, mismatches);
	END
	\$\$;
});

# the sessions: search_path picks the version each writes through
my @sessions = (
	[ 'old1', 'public_01_init, public', q{CALL chk.hammer('old1', 200, true)} ],
	[ 'old2', 'public_01_init, public', q{CALL chk.hammer('old2', 200, true)} ],
	[ 'new1', 'public_02_x, public',    q{CALL chk.hammer('new1', 300, false)} ],
	[ 'new2', 'public_02_x, public',    q{CALL chk.hammer('new2', 300, false)} ],
	[ 'new3', 'public_02_x, public',    q{CALL chk.hammer('new3', 300, false)} ],
	[ 'reader', 'public', q{CALL chk.reader()} ]);

$node->safe_psql('postgres',
	q{SELECT mig.start('02_x', '{"operations": [{"alter_column": {"table": "acct",
		"column": "bal", "type": "bigint", "up": "bal::bigint", "down": "bal::int"}}]}')});

my @runs;
foreach my $s (@sessions)
{
	my ($who, $path, $call) = @$s;
	my %run = (who => $who, out => '', err => '');
	$run{h} = IPC::Run::start(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres'),
			'-c', "SET search_path = $path",
			'-c', $call
		],
		'>', \$run{out}, '2>', \$run{err},
		IPC::Run::timeout(180));
	push @runs, \%run;
}

# the backfill is running while the sessions write
ok( $node->poll_query_until(
		'postgres', q{SELECT rows_done > 0 FROM mig.job_queue WHERE kind = 'backfill'}),
	'the worker is backfilling');

foreach my $run (@runs)
{
	my $ok = eval { $run->{h}->finish; 1 };
	ok($ok && $run->{h}->result == 0, "session $run->{who} finished without error")
	  or diag("$run->{who}: $run->{err}");
}

$node->safe_psql('postgres', q{CALL mig.wait('public', '120 s')});

my $summary = $node->safe_psql(
	'postgres', q{
	SELECT string_agg(who || ': ' || coalesce(writes, reads) || ' ok, '
		|| refused || ' refused', '; ' ORDER BY who) FROM chk.runs});
note "sessions: $summary";

is( $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM chk.runs) || '|'
			|| (SELECT sum(writes) FILTER (WHERE who LIKE 'old%') > 0 FROM chk.runs) || '|'
			|| (SELECT sum(refused) FILTER (WHERE who LIKE 'old%') FROM chk.runs)}),
	'6|true|0',
	'every session ran; the old version wrote and was never refused');
is( $node->safe_psql(
		'postgres', q{
		SELECT (sum(refused) > 0) || '|' || (sum(writes) = 900)
		FROM chk.runs WHERE who LIKE 'new%'}),
	'true|true',
	'the new version refused writes to rows the backfill had not reached, and did all its writes once retried'
);
is( $node->safe_psql(
		'postgres',
		q{SELECT (reads >= 3) || '|' || mismatches FROM chk.runs WHERE who = 'reader'}),
	'true|0',
	'every read the new version allowed showed the right value in every row');
note 'ledger: ' . $node->safe_psql('postgres',
	q{SELECT string_agg(who || ' ' || n || ' (' || d || ' during the backfill)', ', ' ORDER BY who)
	  FROM (SELECT who, count(*) n, count(*) FILTER (WHERE during_backfill) d
			FROM chk.ledger GROUP BY who) s});
is( $node->safe_psql(
		'postgres', q{
		SELECT (count(*) FILTER (WHERE who LIKE 'old%') > 0) || '|'
			|| (count(*) FILTER (WHERE who LIKE 'new%') > 0)
		FROM chk.ledger WHERE during_backfill}),
	'true|true',
	'both versions committed writes while the backfill ran');

# every row: its initial value plus what the ledger says was added
my $expect = qq{
	SELECT count(*) || '|' || count(*) FILTER (WHERE v.bal IS DISTINCT FROM
		(CASE WHEN v.id <= $rows THEN v.id ELSE 0 END) + coalesce(l.s, 0))
	FROM %s v
	LEFT JOIN (SELECT id, sum(delta) AS s FROM chk.ledger GROUP BY id) l USING (id)};
my $total = $node->safe_psql('postgres',
	qq{SELECT $rows + count(*) FROM chk.ledger WHERE id > $rows});
is($node->safe_psql('postgres', sprintf($expect, 'public_01_init.acct')),
	"$total|0", 'through the old version no write was lost');
is($node->safe_psql('postgres', sprintf($expect, 'public_02_x.acct')),
	"$total|0", 'through the new version no write was lost');

$node->safe_psql('postgres', 'SELECT mig.complete()');
is($node->safe_psql('postgres', sprintf($expect, 'public.acct')),
	"$total|0", 'after complete no write was lost');
is( $node->safe_psql(
		'postgres',
		q{SELECT pg_get_viewdef('public_02_x.acct'::regclass) LIKE '%version_ready%'}),
	'f',
	'after complete the new version has no guard');

$node->stop;
done_testing();
