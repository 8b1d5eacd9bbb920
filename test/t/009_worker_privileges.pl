
# Copyright (c) migrate_ext contributors
#
# The background worker never has more privilege than the role that started
# the migration (design invariant 6, issue 5):
#
#  (a) a role that is not a superuser starts a migration whose up expression
#      calls a function it may execute, with its jobs queued paused; the
#      privilege is then revoked, and a superuser resumes the jobs.  The
#      worker still runs as the starting role: the backfill fails with
#      "permission denied for function", and mig.jobs and mig.status say
#      so.  Once the privilege is back, resuming finishes the job;
#  (b) the worker shows in pg_stat_activity as that role;
#  (c) after a server restart the launcher restarts unfinished jobs as that
#      role too, not as the extension's owner;
#  (d) mig.start refuses at once an up expression calling a function the
#      role may not execute (42501), and nothing changes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker_privileges');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE ROLE app LOGIN;
	CREATE DATABASE appdb OWNER app;
});
$node->safe_psql(
	'appdb', q{
	CREATE EXTENSION migrate_ext;
	CREATE SCHEMA util;
	CREATE FUNCTION util.secret(integer) RETURNS integer
		LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';
	REVOKE EXECUTE ON FUNCTION util.secret(integer) FROM PUBLIC;
	GRANT USAGE ON SCHEMA util TO app;
	GRANT EXECUTE ON FUNCTION util.secret(integer) TO app;
	-- slow enough to be seen while it runs
	ALTER SYSTEM SET migrate_ext.backfill_batch_size = 1000;
	ALTER SYSTEM SET migrate_ext.backfill_delay = 50;
	SELECT pg_reload_conf();
});

# as the application's role
sub app_psql
{
	my ($sql, %opts) = @_;
	return $node->psql('appdb', $sql, extra_params => [ '-U', 'app' ], %opts);
}

sub app_safe_psql
{
	my ($sql) = @_;
	return $node->safe_psql('appdb', $sql, extra_params => [ '-U', 'app' ]);
}

app_safe_psql(
	q{
	SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "t",
		"columns": [{"name": "id", "type": "integer", "pk": true},
		            {"name": "a", "type": "integer", "nullable": true}]}}]}');
	SELECT mig.complete();
	INSERT INTO t SELECT g, g FROM generate_series(1, 100000) g;
});

my $doc = q{{"operations": [{"alter_column": {"table": "t", "column": "a",
	"type": "bigint", "up": "util.secret(a)", "down": "a / 2"}}]}};

#
# (a) the worker runs as the starting role, whoever resumes it
#
is( app_safe_psql(
		qq{SET migrate_ext.start_jobs = off;
		SELECT mig.start('02_secret', '$doc');
		SELECT started_by FROM mig.migrations WHERE name = '02_secret';}),
	"public_02_secret\napp",
	'(a) app starts a migration that calls a function it may execute, jobs paused');
$node->safe_psql('appdb',
	'REVOKE EXECUTE ON FUNCTION util.secret(integer) FROM app');
like(
	$node->safe_psql('appdb', q{SELECT mig.resume()}),
	qr/^resumed 1 jobs/,
	'(a) the privilege is revoked and a superuser resumes the jobs');

ok( $node->poll_query_until(
		'appdb', q{SELECT state = 'failed' FROM mig.jobs WHERE kind = 'backfill'}),
	'(a) the backfill fails');
like(
	$node->safe_psql('appdb',
		q{SELECT last_error FROM mig.jobs WHERE kind = 'backfill'}),
	qr/permission denied for function secret/,
	'(a) the job says why: the worker, running as app, may not call the function');
like(
	$node->safe_psql('appdb', q{SELECT phase || ': ' || jobs FROM mig.status()}),
	qr/^jobs failed: .*permission denied for function secret/,
	'(a) mig.status says so');
is( $node->safe_psql('appdb',
		q{SELECT count(*) FROM t WHERE _mig_new_a IS NOT NULL}),
	'0', '(a) no row was backfilled by a more privileged role');

#
# (b) with the privilege back, the worker (as app) finishes the job
#
$node->safe_psql('appdb',
	'GRANT EXECUTE ON FUNCTION util.secret(integer) TO app');
like(app_safe_psql(q{SELECT mig.resume()}),
	qr/^resumed 1 jobs/, '(b) app resumes the failed job');
ok( $node->poll_query_until(
		'appdb', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker'},
		't'),
	'(b) the worker runs');
is( $node->safe_psql(
		'appdb', q{
		SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker'}),
	'app',
	'(b) the worker is connected as app');

#
# (c) after a restart, the launcher starts the worker as app again
#
$node->restart;
ok( $node->poll_query_until(
		'appdb', q{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE backend_type = 'migrate_ext worker'
		   OR NOT EXISTS (SELECT 1 FROM mig.jobs WHERE state <> 'done')},
		't'),
	'(c) after a restart the launcher restarts the job');
my $user = $node->safe_psql(
	'appdb', q{
	SELECT string_agg(DISTINCT usename, ',') FROM pg_stat_activity
	WHERE backend_type = 'migrate_ext worker'});
ok($user eq 'app' || $user eq '',
	"(c) the restarted worker is connected as app (seen: '$user')");
is(app_safe_psql(q{CALL mig.wait('public', '2 min'); SELECT mig.complete();}),
	'public_02_secret', '(c) the job finishes and app completes the migration');
is( $node->safe_psql('appdb',
		q{SELECT count(*) FROM t WHERE a IS DISTINCT FROM 2 * id}),
	'0', '(c) every row has new = up(old)');

#
# (d) start refuses an up expression that calls a function the role may not
# execute
#
$node->safe_psql('appdb',
	'REVOKE EXECUTE ON FUNCTION util.secret(integer) FROM app');
my $schema_before = $node->safe_psql('appdb', q{SELECT mig.read_schema()});
my ($ret, $stdout, $stderr) = app_psql(
	q{\set VERBOSITY verbose
	SELECT mig.start('03_secret', '{"operations": [{"alter_column": {"table": "t",
		"column": "id", "type": "bigint", "up": "util.secret(id)", "down": "id"}}]}');});
like($stderr, qr/ERROR:  42501: invalid up expression .*permission denied for function secret/,
	'(d) start refuses an up expression calling a function the role may not execute');
is($node->safe_psql('appdb', q{SELECT mig.read_schema()}),
	$schema_before, '(d) and nothing changed');

$node->stop;

done_testing();
