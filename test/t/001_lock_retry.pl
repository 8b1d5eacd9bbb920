
# Copyright (c) migrate_ext contributors
#
# Lock retry of mig.start (design invariant 4): no statement of ours waits for
# a lock longer than migrate_ext.lock_timeout; lock waits are retried with
# backoff, then fail with SQLSTATE 55P03 naming the table and the process that
# holds the lock; application queries are never queued behind the migration
# for longer than one lock timeout; a failed start leaves nothing behind.
#
# Timing assertions are tight only for lower bounds (which the server
# guarantees: a lock timeout never fires early, a backoff sleep never ends
# early) and generous for upper bounds, so the test holds on a loaded machine.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('lock_retry');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, name text);
	INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g;
});

# drop_table renames the table at start, which needs ACCESS EXCLUSIVE
my $doc = '{"operations": [{"drop_table": {"name": "items"}}]}';

sub state_is_untouched
{
	my ($what) = @_;
	is( $node->safe_psql(
			'postgres', q{
			SELECT s.status || '|' || count(m.*) FROM mig.status() s
			LEFT JOIN mig.migrations m ON true GROUP BY s.status}),
		'No migrations|0',
		"$what: no migration recorded");
	is( $node->safe_psql(
			'postgres',
			q{SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'public\_m%'}),
		'0',
		"$what: no version schema");
	is( $node->safe_psql(
			'postgres', q{
			SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
			WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'}),
		'items',
		"$what: the table keeps its name");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'),
		'100', "$what: the table keeps its rows");
	return;
}

# The blocker: an open transaction holding ACCESS SHARE on the table, as any
# transaction that has read it does.
my $blocker = $node->background_psql('postgres');
my $blocker_pid = $blocker->query_safe('SELECT pg_backend_pid()');
$blocker->query_safe('BEGIN');
$blocker->query_safe('LOCK TABLE items IN ACCESS SHARE MODE');

#
# 1. start gives up after lock_retries retries, with 55P03 naming the table
#    and the blocking process.
#
my $lock_timeout = 200;
my $lock_retries = 3;
my $retry_delay = 100;

my $t0 = time();
my ($ret, $stdout, $stderr) = $node->psql(
	'postgres', qq{
	\\set VERBOSITY verbose
	SET migrate_ext.lock_timeout = $lock_timeout;
	SET migrate_ext.lock_retries = $lock_retries;
	SET migrate_ext.retry_delay = $retry_delay;
	SELECT mig.start('m1', '$doc');
});
my $elapsed_ms = (time() - $t0) * 1000;

isnt($ret, 0, 'start fails while the blocker holds its lock');
like(
	$stderr,
	qr/ERROR:  55P03: could not lock table "items" for start of migration "m1"/,
	'error is 55P03 and names the table and the migration');
like(
	$stderr,
	qr/DETAIL:  .*\bprocess $blocker_pid\b/,
	"detail names the blocking process ($blocker_pid)");
like(
	$stderr,
	qr/Gave up after @{[$lock_retries + 1]} attempts, each waiting at most $lock_timeout ms/,
	'detail gives the number of attempts and the lock timeout');
like($stderr, qr/HINT:  .*migrate_ext\.lock_retries/,
	'hint names the parameters to raise');
note "start failed after $elapsed_ms ms\n$stderr";

# Each attempt waits lock_timeout; each backoff sleeps at least half its
# delay (100, 200, 400 ms doubled from retry_delay).
my $min_backoff = 0;
my $max_backoff = 0;
for my $i (0 .. $lock_retries - 1)
{
	$min_backoff += $retry_delay * 2**$i / 2;
	$max_backoff += $retry_delay * 2**$i;
}
my $min_ms = ($lock_retries + 1) * $lock_timeout + $min_backoff;
my $max_ms = ($lock_retries + 1) * $lock_timeout + $max_backoff + 5000;
cmp_ok($elapsed_ms, '>=', $min_ms,
	"start retried: took at least $min_ms ms (@{[$lock_retries + 1]} x $lock_timeout ms + backoff)");
cmp_ok($elapsed_ms, '<', $max_ms,
	"start gave up: took less than $max_ms ms");

state_is_untouched('after the failed start');

#
# 2. An application query that arrives while start waits is queued behind it
#    for at most one lock timeout, not for the whole retry sequence.  start
#    retries here for far longer than the test takes (it is ended by the
#    blocker's commit in part 3).
#
my $starter = $node->background_psql('postgres');
my $starter_pid = $starter->query_safe('SELECT pg_backend_pid()');
$starter->query_safe(
	"SET migrate_ext.lock_timeout = $lock_timeout; "
	  . 'SET migrate_ext.lock_retries = 1000; '
	  . 'SET migrate_ext.retry_delay = 1');
$starter->query_until(
	qr/starting/, qq{
	\\echo starting
	SELECT mig.start('m2', '$doc');
});

# wait until start is queued for its lock
ok( $node->poll_query_until(
		'postgres', qq{
		SELECT EXISTS (SELECT 1 FROM pg_locks
			WHERE pid = $starter_pid AND relation = 'items'::regclass
			  AND mode = 'AccessExclusiveLock' AND NOT granted)}),
	'start is waiting for its lock on the table');

# The reader measures its own wait on the server: the table is locked while
# the query is parsed, before clock_timestamp() is evaluated.  Its own
# lock_timeout ends the test's wait if the reader were stuck behind start.
my $reader = $node->background_psql('postgres', on_error_stop => 0);
$reader->query_safe("SET lock_timeout = '30s'");
$t0 = time();
my ($reader_out, $reader_failed) = $reader->query(
	q{SELECT count(*) || '|' ||
	   round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000)
	FROM items});
my $reader_ms = (time() - $t0) * 1000;
is($reader_failed, 0, 'the reader is not canceled by its own lock timeout')
  or diag $reader->{stderr};
my ($count, $server_ms) = split /\|/, $reader_out;
$server_ms //= 1e9;
note "reader took $reader_ms ms ($server_ms ms on the server)";
is($count, '100', 'the reader reads the table while start retries');
cmp_ok($server_ms, '<=', $lock_timeout + 3000,
	"the reader waited at most about one lock timeout ($lock_timeout ms)");
cmp_ok($reader_ms, '<=', $lock_timeout + 5000,
	'the reader returned promptly');

is( $node->safe_psql(
		'postgres',
		"SELECT state FROM pg_stat_activity WHERE pid = $starter_pid"),
	'active',
	'start is still retrying after the reader finished');
is( $node->safe_psql(
		'postgres', q{SELECT status FROM mig.status()}),
	'No migrations',
	'nothing is recorded while start retries');

#
# 3. The blocker commits while start is retrying: start succeeds.
#
$blocker->query_safe('COMMIT');
my $start_out = $starter->query_safe(q{SELECT 'done'});
like($start_out, qr/^public_m2\ndone$/, 'start succeeds once the blocker commits');

is($node->safe_psql('postgres', q{SELECT status || '|' || migration FROM mig.status()}),
	'In progress|m2', 'the migration is in progress');
is( $node->safe_psql(
		'postgres', q{
		SELECT to_regclass('public_m2.items') IS NULL
		   AND (SELECT count(*) FROM _mig_del_items) = 100}),
	't',
	'the new version has no table items; the old one keeps its rows until complete');

$reader->quit;
$starter->quit;
$blocker->quit;
$node->stop;

done_testing();
