# Copyright (c) migrate_ext contributors
#
# On a hot standby (issue 14, item 11):
#  - mig.jobs and mig.status show a job that runs on the primary as the
#    primary recorded it ("running"), not "interrupted" (the standby has no
#    worker of its own to see in pg_stat_activity);
#  - nothing tries to start a worker there;
#  - every function that writes (start, complete, rollback, pause, resume,
#    CALL mig.backfill) fails at once with SQLSTATE 25006, says this is a
#    read-only standby and hints to run it on the primary, with no internal
#    SQL in the message;
#  - CALL mig.wait works there: it waits for the primary's jobs as the
#    standby replays them.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_batch_size = 200
migrate_ext.backfill_delay = 200
});
$primary->start;
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, val integer);
	INSERT INTO items SELECT g, g FROM generate_series(1, 20000) g;
	ANALYZE items;
});
$primary->safe_psql('postgres',
	q{SELECT mig.start('02_big', '{"operations": [{"alter_column": {"table": "items", "column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}')}
);
ok( $primary->poll_query_until(
		'postgres', q{
		SELECT state = 'running' AND next_block > 0 AND worker_pid IS NOT NULL
		FROM mig.job_queue WHERE kind = 'backfill'}),
	'primary: the backfill runs in its worker');
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is( $standby->safe_psql(
		'postgres', q{SELECT state || '|' || (pid IS NULL)::text FROM mig.jobs WHERE kind = 'backfill'}),
	'running|true',
	'standby: mig.jobs shows the job running, as the primary recorded it (not interrupted)');
is( $standby->safe_psql('postgres', q{SELECT status || '|' || phase FROM mig.status()}),
	'In progress|running jobs',
	'standby: mig.status says the jobs are running');
like($standby->safe_psql('postgres', q{SELECT jobs FROM mig.status()}),
	qr/backfill public\.items: running \(\d+ of about 20000 rows/,
	'standby: the job summary says running, with the rows done so far');
is( $standby->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'migrate_ext%'}),
	'0',
	'standby: mig.status started no worker there');

# every function that writes refuses at once, cleanly
my %calls = (
	'mig.start' => q{SELECT mig.start('03_x', '{"operations": [{"add_column": {"table": "items", "column": {"name": "c", "type": "text", "nullable": true}}}]}')},
	'mig.complete' => q{SELECT mig.complete()},
	'mig.rollback' => q{SELECT mig.rollback()},
	'mig.pause'    => q{SELECT mig.pause()},
	'mig.resume'   => q{SELECT mig.resume('public')},
	'mig.backfill' => q{CALL mig.backfill('public')},);
foreach my $f (sort keys %calls)
{
	my ($ret, $stdout, $stderr) =
	  $standby->psql('postgres', "\\set VERBOSITY verbose\n$calls{$f}");
	isnt($ret, 0, "standby: $f fails");
	like(
		$stderr,
		qr/ERROR:  25006: cannot run \Q$f\E on schema "public": this server is a read-only standby/,
		"standby: $f says 25006 and read-only standby");
	like($stderr, qr/HINT:  Run \Q$f\E on the primary server\./,
		"standby: $f hints to run it on the primary");
	unlike($stderr, qr/SQL statement|CONTEXT|job_queue|UPDATE|SELECT/,
		"standby: $f shows no internal SQL");
	note "$f: $stderr";
}

# let the primary finish; mig.wait on the standby sees it through replay
$primary->safe_psql('postgres',
	q{ALTER SYSTEM SET migrate_ext.backfill_delay = 0; SELECT pg_reload_conf()});
my ($ret, $stdout, $stderr) =
  $standby->psql('postgres', q{CALL mig.wait('public', '3 min')});
is($ret, 0, 'standby: CALL mig.wait waits for the primary\'s jobs and returns');
note $stderr if $ret;
is($standby->safe_psql('postgres', q{SELECT state || '|' || rows_done FROM mig.jobs WHERE kind = 'backfill'}),
	'done|20000', 'standby: the replayed job is done, every row counted once');
is($standby->safe_psql('postgres', q{SELECT phase FROM mig.status()}),
	'ready to complete', 'standby: status says ready to complete');

$primary->safe_psql('postgres', q{SELECT mig.complete()});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT status || '|' || coalesce(phase, 'null') FROM mig.status()}),
	'Complete|null', 'standby: the completed migration, as replayed');

$standby->stop;
$primary->stop;
done_testing();
