
# Copyright (c) migrate_ext contributors
#
# DDL run outside migrations (issue 19, item 3), what pgTAP cannot show
# inside one transaction:
# - DDL in a database without the extension, a failing statement, an
#   aborted or rolled-back transaction, a read-only transaction: no error
#   of ours, no WARNING, nothing recorded;
# - CREATE / DROP INDEX CONCURRENTLY (they commit inside) are recorded;
# - DROP EXTENSION and CREATE EXTENSION in the same session: the cached
#   presence of the extension follows;
# - the client: status, latest and migrate ignore inferred migrations;
#   pull writes them, and migrate of the pulled files on a fresh database
#   replays them and gives the same schema.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('capture');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
});
$node->start;

sub client
{
	my ($db, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migrate_ext', '-d', $node->connstr($db), @args ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

my $inferred = q{SELECT count(*) FROM mig.migrations WHERE migration_type = 'inferred'};

#
# a database without the extension
#
$node->safe_psql('postgres', 'CREATE DATABASE plain');
my ($ret, $out, $err) = $node->psql('plain', q{
CREATE TABLE t (id integer PRIMARY KEY);
ALTER TABLE t ADD COLUMN x integer;
CREATE INDEX ON t (x);
DROP TABLE t;
});
is($ret, 0, 'DDL in a database without the extension runs');
is($err, '', 'with nothing said');

#
# a database with the extension and a history
#
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
CREATE EXTENSION migrate_ext;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "items",
	"columns": [{"name": "id", "type": "integer", "pk": true}, {"name": "name", "type": "text"}]}}]}');
SELECT mig.complete();
});

($ret, $out, $err) = $node->psql('app', 'ALTER TABLE items ADD COLUMN id integer');
isnt($ret, 0, 'a failing statement fails');
unlike($err, qr/WARNING|not recorded/, 'with its own error only');
($ret, $out, $err) = $node->psql('app', q{
\set ON_ERROR_STOP 0
BEGIN;
SELECT 1/0;
CREATE TABLE aborted (x integer);
ROLLBACK;
BEGIN;
CREATE TABLE rolled_back (x integer);
ROLLBACK;
});
like($err, qr/current transaction is aborted/, 'DDL in an aborted transaction gets PostgreSQL\'s error');
unlike($err, qr/WARNING/, 'and nothing of ours');
($ret, $out, $err) = $node->psql('app', q{
\set ON_ERROR_STOP 0
SET default_transaction_read_only = on;
CREATE TABLE ro (x integer);
CREATE TEMPORARY TABLE ro_temp (x integer);
});
like($err, qr/read-only transaction/, 'DDL in a read-only transaction gets PostgreSQL\'s error');
unlike($err, qr/WARNING/, 'and nothing of ours, for a temporary table either');
is($node->safe_psql('app', $inferred), '0', 'none of that was recorded');

# statements that commit inside
($ret, $out, $err) = $node->psql('app', 'CREATE INDEX CONCURRENTLY items_name_idx ON items (name)');
is($ret, 0, 'CREATE INDEX CONCURRENTLY runs') or diag($err);
is($err, '', 'with nothing said');
($ret, $out, $err) = $node->psql('app', 'DROP INDEX CONCURRENTLY items_name_idx');
is($ret, 0, 'DROP INDEX CONCURRENTLY runs') or diag($err);
is( $node->safe_psql(
		'app', q{SELECT string_agg(migration -> 'operations' -> 0 -> 'sql' ->> 'up', ' | ' ORDER BY depth DESC)
		FROM mig.history() h JOIN mig.migrations m ON m.schema = 'public' AND m.name = h.name
		WHERE h.migration_type = 'inferred'}),
	'CREATE INDEX CONCURRENTLY items_name_idx ON items (name) | DROP INDEX CONCURRENTLY items_name_idx',
	'both are recorded');

# the extension dropped and created again, in one session
($ret, $out, $err) = $node->psql('app', q{
DROP EXTENSION migrate_ext;
CREATE TABLE after_drop (x integer);
CREATE EXTENSION migrate_ext;
CREATE TABLE no_history_yet (x integer);
SELECT mig.start('01_again', '{"operations": [{"create_table": {"name": "again",
	"columns": [{"name": "id", "type": "integer", "pk": true}]}}]}');
SELECT mig.complete();
ALTER TABLE again ADD COLUMN note text;
});
is($ret, 0, 'DROP and CREATE EXTENSION with DDL in between run') or diag($err);
unlike($err, qr/WARNING|ERROR/, 'with nothing said');
is( $node->safe_psql('app', q{SELECT string_agg(name || ':' || migration_type, ' ' ORDER BY created_at, name) FROM mig.migrations}) =~
	  s/_[0-9]{20}:/_TS:/r,
	'01_again:pgroll 01_again_TS:inferred',
	'the session saw the extension go and come back');

#
# the client
#
my $dir = PostgreSQL::Test::Utils::tempdir();
open(my $fh, '>', "$dir/01_again.json") or die $!;
print $fh q{{"operations": [{"create_table": {"name": "again", "columns": [{"name": "id", "type": "integer", "pk": true}]}}]}};
close($fh);

($ret, $out, $err) = client('app', 'status');
like($out, qr/"Version": "01_again".*"Status": "Complete".*"Migration": "01_again"/s,
	'status ignores the inferred migration');
($ret, $out, $err) = client('app', 'latest', 'migration');
is($out, "01_again\n", 'so does latest migration');
($ret, $out, $err) = client('app', 'latest', 'schema');
is($out, "public_01_again\n", 'and latest schema');
($ret, $out, $err) = client('app', 'migrate', $dir);
is($ret, 0, 'migrate of a directory without the inferred migration exits 0') or diag($err);
like($out, qr/up to date/, 'and finds nothing to do');

($ret, $out, $err) = client('app', 'pull', $dir);
is($ret, 0, 'pull exits 0') or diag($err);
like($out, qr/1 of 2 migrations of schema "public" written/, 'pull writes the inferred migration');
($ret, $out, $err) = client('app', 'migrate', $dir);
like($out, qr/up to date: all 2 migrations/, 'migrate matches it with the history once pulled');

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION migrate_ext');
($ret, $out, $err) = client('fresh', 'migrate', $dir, '--complete');
is($ret, 0, 'migrate of the pulled files on a fresh database exits 0') or diag("$out\n$err");
my $cols = q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = 'public.again'::regclass AND attnum > 0 AND NOT attisdropped};
is($node->safe_psql('fresh', $cols), $node->safe_psql('app', $cols), 'and replays the DDL');
is($node->safe_psql('fresh', $inferred), '0', "the client's own session recorded nothing inferred");

# Recording never makes DDL wait: a transaction that recorded DDL holds the
# schema's lock to its end; another session's DDL meanwhile runs at once and
# is not recorded (a WARNING says so), with no wait and no deadlock.
my $count = q{SELECT count(*) FROM mig.migrations WHERE migration_type = 'inferred'};
$node->safe_psql('fresh',
	'SET migrate_ext.infer_migrations = off; CREATE TABLE other (id integer)');
my $before = $node->safe_psql('fresh', $count);
my ($hold_out, $hold_err) = ('', '');
my $holder = IPC::Run::start(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('fresh'),
		'-c', 'BEGIN; ALTER TABLE again ADD COLUMN held integer; SELECT pg_sleep(600); COMMIT;'
	],
	'>', \$hold_out, '2>', \$hold_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( $node->poll_query_until(
		'fresh', q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted
		  AND pid <> pg_backend_pid()}),
	'a transaction that recorded DDL holds the schema lock');
# (on another table: the holder's ALTER TABLE locks its own)
my ($ddl_ret, $ddl_out, $ddl_err) = $node->psql('fresh',
	"SET lock_timeout = '5s'; ALTER TABLE other ADD COLUMN meanwhile integer");
is($ddl_ret, 0, "another session's DDL runs meanwhile, without waiting for it");
like($ddl_err, qr/WARNING:.*not recorded.*is being changed by another session/s,
	'and a WARNING says it was not recorded, the lock being taken (not a lock timeout)');
$node->safe_psql('fresh',
	q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()});
eval { $holder->finish };
is($node->safe_psql('fresh', $count), $before,
	'neither is recorded (the holder was cancelled, the other found the lock taken)');

$node->stop;
done_testing();
