
# Copyright (c) migrate_ext contributors
#
# mig.pause stops a backfill the worker is running after its current batch
# (README: "Pauses the background jobs of the active migration after their
# current batch"): the worker leaves, the cursor stays where the last batch
# committed it, mig.jobs and mig.status say paused; mig.resume starts a
# worker that goes on from there, and after complete every row is right.
# Before, a worker already running a backfill carried on to its end.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pause_running');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
autovacuum = off
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION migrate_ext;
CREATE TABLE items (id integer PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 60000) g;
VACUUM ANALYZE items;
});

# a slow backfill: 100 rows a batch, 20 ms apart (about 12 s in all)
$node->safe_psql('postgres', q{
ALTER SYSTEM SET migrate_ext.backfill_batch_size = 100;
ALTER SYSTEM SET migrate_ext.backfill_delay = '20ms';
SELECT pg_reload_conf();
});
$node->safe_psql('postgres', q{
SELECT mig.start('02_up', '{"operations": [{"add_column": {"table": "items",
	"up": "upper(name)", "column": {"name": "shout", "type": "text", "nullable": true}}}]}');
});

ok( $node->poll_query_until('postgres', q{
	SELECT next_block > 0 FROM mig.job_queue WHERE kind = 'backfill'}),
	'the worker is running the backfill');

is($node->safe_psql('postgres', q{SELECT mig.pause()}),
	'paused 1 jobs of migration "02_up"', 'mig.pause pauses the running job');

ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'migrate_ext worker'}),
	'the worker leaves after its current batch');

my $cursor = $node->safe_psql('postgres', q{
	SELECT next_block || ' ' || end_block FROM mig.job_queue WHERE kind = 'backfill'});
my ($next, $end) = split / /, $cursor;
cmp_ok($next, '<', $end, "the backfill stopped short of its end (block $next of $end)");

is($node->safe_psql('postgres', q{SELECT state FROM mig.jobs WHERE kind = 'backfill'}),
	'paused', 'mig.jobs says paused');
is($node->safe_psql('postgres', q{SELECT phase FROM mig.status()}),
	'jobs paused', 'mig.status says jobs paused');

# nothing moves the cursor while the job is paused: mig.status (which
# starts a worker for unfinished jobs) leaves it alone too
$node->safe_psql('postgres', q{SELECT mig.status()});
is($node->safe_psql('postgres', q{SELECT next_block FROM mig.job_queue WHERE kind = 'backfill'}),
	$next, 'the cursor stays where the last batch left it');

$node->safe_psql('postgres', q{
ALTER SYSTEM RESET migrate_ext.backfill_delay;
ALTER SYSTEM RESET migrate_ext.backfill_batch_size;
SELECT pg_reload_conf();
});
is($node->safe_psql('postgres', q{SELECT mig.resume()}),
	'resumed 1 jobs of migration "02_up"', 'mig.resume');
$node->safe_psql('postgres', q{CALL mig.wait('public', '5 min')});
is($node->safe_psql('postgres', q{SELECT state FROM mig.jobs WHERE kind = 'backfill'}),
	'done', 'the resumed backfill finishes');
$node->safe_psql('postgres', q{SELECT mig.complete()});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM items WHERE shout IS DISTINCT FROM upper(name)}),
	'0', 'after complete every row has shout = upper(name)');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no process crashed');

$node->stop;
done_testing();
