# Copyright (c) migrate_ext contributors
#
# PostgreSQL 17's MAINTAIN privilege (and the pg_maintain role) lets a role
# that does not own a table VACUUM FULL, CLUSTER, REINDEX and LOCK it.  So
# on 17 and later, roles other than the owner can rewrite a table in the
# middle of a migration.  What a user relies on:
#
#  (a) MAINTAIN does not let a role migrate a table: mig.start refuses a
#      role that has MAINTAIN (on the table, or through pg_maintain) but
#      does not own it, with 42501, and changes nothing;
#  (b) a VACUUM FULL, a CLUSTER and a REINDEX run by such a role while the
#      backfill is part-way lose nothing: the backfill notices the new
#      storage and goes on, every row gets up(old), rows written through
#      the new version keep their values, and complete succeeds;
#  (c) a LOCK TABLE held by such a role does not make complete wait longer
#      than lock_timeout per attempt (complete fails with 55P03 and a hint,
#      and succeeds once the lock is gone).
#
# Before PostgreSQL 17 there is no MAINTAIN privilege: the test is skipped
# (test/t/011_rewrite_backfill.pl covers rewrites by the owner everywhere).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('maintain');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'migrate_ext'
autovacuum = off
migrate_ext.backfill_batch_size = 500
migrate_ext.backfill_delay = 20
migrate_ext.retry_delay = 10
});
$node->start;

if ($node->safe_psql('postgres', 'SHOW server_version_num') < 170000)
{
	plan skip_all => 'the MAINTAIN privilege exists from PostgreSQL 17 on';
}

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE ROLE app_owner LOGIN;
	CREATE ROLE maint LOGIN IN ROLE pg_maintain;
	CREATE ROLE tmaint LOGIN;
	CREATE SCHEMA app AUTHORIZATION app_owner;
	GRANT USAGE, CREATE ON SCHEMA app TO maint, tmaint;
	SET ROLE app_owner;
	CREATE TABLE app.items (id integer PRIMARY KEY, val integer, k integer);
	INSERT INTO app.items SELECT g, g, -g FROM generate_series(1, 100000) g;
	CREATE INDEX items_k ON app.items (k);
	GRANT MAINTAIN ON app.items TO tmaint;
	RESET ROLE;
	VACUUM ANALYZE app.items;
});

my $doc = q{{"operations": [{"alter_column": {"table": "items",
	"column": "val", "type": "bigint", "up": "val * 2", "down": "val / 2"}}]}};

# (a) MAINTAIN is not enough to migrate
foreach my $role ('maint', 'tmaint')
{
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET ROLE $role; SELECT mig.start('01_val', '$doc', 'app')",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	isnt($ret, 0, "$role (MAINTAIN, not the owner) cannot start a migration");
	like($err, qr/42501/, "$role is refused with 42501");
}
is($node->safe_psql('postgres',
		"SELECT count(*) FROM mig.migrations WHERE schema = 'app'"),
	'0', 'the refusals changed nothing');

# (b) rewrites by MAINTAIN holders part-way through the backfill
$node->safe_psql('postgres', qq{
	SET ROLE app_owner;
	SET migrate_ext.start_jobs = off;
	SELECT mig.start('01_val', '$doc', 'app');
});
sub poll
{
	my ($sql, $want) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', $sql) eq $want;
		usleep(20_000);
	}
	return 0;
}
my $job = q{FROM mig.job_queue WHERE migration = '01_val' AND kind = 'backfill'};

$node->safe_psql('postgres', q{SELECT mig.resume('app')});
ok(poll("SELECT next_block * 5 >= end_block $job", 't'),
	'the backfill got part-way');
$node->safe_psql('postgres', q{SELECT mig.pause('app')});

# rows written through the new version keep their values (row 1 is
# backfilled: the backfill starts at block 0)
$node->safe_psql('postgres', q{
	SET search_path = app_01_val;
	UPDATE items SET val = 7 WHERE id = 1;
	INSERT INTO items (id, val, k) VALUES (100001, 7, 0);
});
$node->safe_psql('postgres', 'SET ROLE maint; VACUUM FULL app.items');
$node->safe_psql('postgres', 'SET ROLE maint; CLUSTER app.items USING items_k');
$node->safe_psql('postgres', 'SET ROLE tmaint; REINDEX TABLE app.items');
$node->safe_psql('postgres', 'SET ROLE tmaint; VACUUM FULL app.items');
$node->safe_psql('postgres', q{SELECT mig.resume('app')});
ok(poll("SELECT state $job", 'done'), 'the backfill finishes after the rewrites');

is($node->safe_psql('postgres', q{
	SELECT count(*) FROM app_01_val.items
	WHERE val IS DISTINCT FROM CASE WHEN id IN (1, 100001) THEN 7 ELSE 2 * id END}),
	'0', 'every row has up(old) or what the new version wrote');

# (c) a lock held by a MAINTAIN holder: complete waits at most lock_timeout
my $holder = $node->background_psql('postgres');
$holder->query_safe('SET ROLE tmaint');
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE app.items IN ACCESS SHARE MODE');
my ($ret, $out, $err) = $node->psql('postgres',
	q{SET ROLE app_owner; SET migrate_ext.lock_timeout = 200; SET migrate_ext.lock_retries = 2;
	  SELECT mig.complete('app')},
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'complete gives up while a MAINTAIN holder keeps the table locked');
like($err, qr/55P03/, 'with lock_not_available');
$holder->query_safe('COMMIT');
$holder->quit;
is($node->safe_psql('postgres',
		q{SET ROLE app_owner; SELECT mig.complete('app')}),
	'app_01_val', 'complete succeeds once the lock is gone');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM app.items
	WHERE val IS DISTINCT FROM CASE WHEN id IN (1, 100001) THEN 7 ELSE 2 * id END}),
	'0', 'and the table has every value');

done_testing();
