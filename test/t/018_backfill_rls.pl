
# Copyright (c) migrate_ext contributors
#
# The backfill never skips a row that row level security hides from the
# migrating role.  A table with a stored generated column (or a deferrable
# unique constraint) is backfilled by an UPDATE statement run as the role
# that started the migration; with FORCE ROW LEVEL SECURITY the table's
# policies apply to that role, its owner, and the statement used to see
# only the rows they show: the job said done and the hidden rows kept NULL
# for good.  Now the batch fails instead, with a hint, as a role that is
# not a superuser but owns the table:
#
#  (a) in the background worker: the job fails, mig.jobs and mig.status say
#      why, no row was skipped; with FORCE turned off for the duration,
#      mig.resume() finishes it and every row has its value;
#  (b) CALL mig.backfill (foreground) fails the same way, and succeeds once
#      FORCE is off;
#  (c) an ordinary heap table (the direct path) under FORCE RLS is
#      backfilled completely, as before.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('backfill_rls');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE ROLE owner1 LOGIN;
	CREATE DATABASE appdb OWNER owner1;
});
$node->safe_psql('appdb', q{CREATE EXTENSION migrate_ext;});

sub owner_psql
{
	my ($sql, %opts) = @_;
	return $node->psql('appdb', $sql, extra_params => [ '-U', 'owner1' ], %opts);
}

sub owner_safe_psql
{
	my ($sql) = @_;
	return $node->safe_psql('appdb', $sql, extra_params => [ '-U', 'owner1' ]);
}

owner_safe_psql(
	q{
	CREATE TABLE rl3(id int PRIMARY KEY, tenant int, v int,
		g int GENERATED ALWAYS AS (v + 1) STORED);
	INSERT INTO rl3(id, tenant, v) SELECT g, g % 2, g FROM generate_series(1, 1000) g;
	ALTER TABLE rl3 ENABLE ROW LEVEL SECURITY;
	ALTER TABLE rl3 FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON rl3 USING (tenant = 0);
});
is(owner_safe_psql(q{SELECT count(*) FROM rl3}),
	'500', 'the policy hides half the rows from their owner');

#
# (a) the worker
#
is( owner_safe_psql(
		q{SELECT mig.start('rl3m', '{"operations": [{"add_column": {"table": "rl3",
			"column": {"name": "w", "type": "int", "nullable": true}, "up": "v * 2"}}]}')}
	),
	'public_rl3m',
	'(a) the owner starts a migration that backfills the table through an UPDATE');
ok( $node->poll_query_until(
		'appdb',
		q{SELECT state IN ('failed', 'done') FROM mig.jobs WHERE kind = 'backfill'}),
	'(a) the backfill ends');
is($node->safe_psql('appdb', q{SELECT state FROM mig.jobs WHERE kind = 'backfill'}),
	'failed', '(a) the backfill fails instead of skipping the hidden rows');
like(
	$node->safe_psql('appdb',
		q{SELECT last_error FROM mig.jobs WHERE kind = 'backfill'}),
	qr/cannot backfill table public\.rl3 of migration "rl3m": row level security applies to role "owner1"/,
	'(a) mig.jobs says why');
like(
	$node->safe_psql('appdb', q{SELECT phase || ': ' || jobs FROM mig.status()}),
	qr/^jobs failed: .*row level security/,
	'(a) mig.status says so');
is($node->safe_psql('appdb', q{SELECT count(*) FROM rl3 WHERE _mig_new_w IS NOT NULL}),
	'0', '(a) no batch wrote part of the table');
my ($rc, $out, $err) = owner_psql(q{SELECT mig.complete()});
isnt($rc, 0, '(a) complete refuses while the backfill is not done');

# what the hint says
owner_safe_psql(q{ALTER TABLE rl3 NO FORCE ROW LEVEL SECURITY});
like(owner_safe_psql(q{SELECT mig.resume()}),
	qr/^resumed 1 jobs/, '(a) with FORCE off, the owner resumes the job');
owner_safe_psql(q{CALL mig.wait('public', '2 min')});
is($node->safe_psql('appdb', q{SELECT state FROM mig.jobs WHERE kind = 'backfill'}),
	'done', '(a) the backfill is done');
is( $node->safe_psql(
		'appdb', q{SELECT count(*) FROM rl3 WHERE _mig_new_w IS DISTINCT FROM v * 2}),
	'0', '(a) every row, hidden or not, has its value');
owner_safe_psql(
	q{SELECT mig.complete(); ALTER TABLE rl3 FORCE ROW LEVEL SECURITY;});
is( $node->safe_psql('appdb',
		q{SELECT count(*) FROM rl3 WHERE w IS DISTINCT FROM v * 2}),
	'0', '(a) after complete, every row keeps it');

#
# (b) the foreground backfill
#
owner_safe_psql(
	q{SET migrate_ext.start_jobs = off;
	SELECT mig.start('rl3n', '{"operations": [{"add_column": {"table": "rl3",
		"column": {"name": "x", "type": "int", "nullable": true}, "up": "v * 3"}}]}');});
($rc, $out, $err) = owner_psql(q{CALL mig.backfill('public', 100)});
isnt($rc, 0, '(b) CALL mig.backfill fails too');
like($err, qr/row level security applies to role "owner1"/, '(b) saying why');
like($err, qr/HINT:  Run ALTER TABLE public\.rl3 NO FORCE ROW LEVEL SECURITY/,
	'(b) and what to do');
is($node->safe_psql('appdb', q{SELECT count(*) FROM rl3 WHERE _mig_new_x IS NOT NULL}),
	'0', '(b) no row was written');
owner_safe_psql(q{ALTER TABLE rl3 NO FORCE ROW LEVEL SECURITY});
owner_safe_psql(q{CALL mig.backfill('public', 100)});
is( $node->safe_psql(
		'appdb', q{SELECT count(*) FROM rl3 WHERE _mig_new_x IS DISTINCT FROM v * 3}),
	'0', '(b) with FORCE off, CALL mig.backfill writes every row');
owner_safe_psql(
	q{SELECT mig.complete(); ALTER TABLE rl3 FORCE ROW LEVEL SECURITY;});

#
# (c) an ordinary table: the direct path writes every row, FORCE or not
#
owner_safe_psql(
	q{
	CREATE TABLE rl4(id int PRIMARY KEY, tenant int, v int);
	INSERT INTO rl4 SELECT g, g % 2, g FROM generate_series(1, 1000) g;
	ALTER TABLE rl4 ENABLE ROW LEVEL SECURITY;
	ALTER TABLE rl4 FORCE ROW LEVEL SECURITY;
	CREATE POLICY p ON rl4 USING (tenant = 0);
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('rl4m', '{"operations": [{"add_column": {"table": "rl4",
		"column": {"name": "w", "type": "int", "nullable": true}, "up": "v * 2"}}]}');
	CALL mig.backfill('public', 100);
});
is( $node->safe_psql(
		'appdb', q{SELECT count(*) FROM rl4 WHERE _mig_new_w IS DISTINCT FROM v * 2}),
	'0', '(c) the direct path writes every row under FORCE ROW LEVEL SECURITY');
owner_safe_psql(q{SELECT mig.complete()});

$node->stop;
done_testing();
