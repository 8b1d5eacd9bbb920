
# Copyright (c) migrate_ext contributors
#
# The command-line client on bad input: each case gets a clear message and
# a non-zero exit code, and changes nothing on the server.  An unreadable
# file, YAML and JSON syntax errors (with line and column), a directory
# whose order conflicts with the history, a database without the
# extension, a file the live schema refuses (validate, start), more than
# one pending file with --expect-one, an active migration (migrate says so
# and exits 0, as pgroll does), and a connection lost in the middle of
# wait (wait can be run again).

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('client_errors');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
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

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "$path: $!";
	print $fh $text;
	close($fh);
	return $path;
}

my $dir = PostgreSQL::Test::Utils::tempdir();
my $history_sql = q{SELECT coalesce(string_agg(name || ' ' || status, ',' ORDER BY created_at), '') FROM mig.migrations};

# a database without the extension
my ($rc, $out, $err) = client('postgres', 'status');
is($rc, 1, 'a database without the extension: exit 1');
like($err, qr/the extension migrate_ext is not installed in database "postgres"\nHINT: Run "migrate_ext init"/,
	'and a message that says what to do');

$node->safe_psql('postgres', 'CREATE DATABASE app');
client('app', 'init');
$node->safe_psql('app', 'CREATE TABLE items (id integer PRIMARY KEY, name text)');

# unreadable file
($rc, $out, $err) = client('app', 'start', "$dir/missing.yaml");
is($rc, 1, 'a missing file: exit 1');
like($err, qr/missing\.yaml: cannot read the file: No such file or directory/, 'and says why');
($rc, $out, $err) = client('app', 'start', write_file("$dir/notes.txt", 'x'));
is($rc, 1, 'a file that is neither JSON nor YAML: exit 1');
like($err, qr/must end in \.json, \.yaml or \.yml/, 'and says which names are read');

# YAML syntax error, with line and column
write_file("$dir/01_bad.yaml", <<'YAML');
operations:
  - create_table:
      name: t
     columns: []
YAML
($rc, $out, $err) = client('app', 'start', "$dir/01_bad.yaml");
is($rc, 1, 'a YAML syntax error: exit 1');
like($err, qr/01_bad\.yaml: invalid YAML: line 4, column 6: /, 'the message gives line and column');

write_file("$dir/01_dup.yaml", "operations: []\noperations: []\n");
($rc, $out, $err) = client('app', 'start', "$dir/01_dup.yaml");
like($err, qr/invalid YAML: line 2, column 1: duplicate key "operations"/, 'a duplicate key is an error, with its place');

# JSON syntax error, with line and column
write_file("$dir/01_bad.json", qq({\n  "operations": [\n    {"sql": {"up": "SELECT 1",}}\n  ]\n}\n));
($rc, $out, $err) = client('app', 'start', "$dir/01_bad.json");
is($rc, 1, 'a JSON syntax error: exit 1');
like($err, qr/01_bad\.json: invalid JSON: line 3, column 31: expected a member name/, 'the message gives line and column');
is($node->safe_psql('app', $history_sql), '', 'none of them changed anything');

# a file the live schema refuses: validate says why, with the SQLSTATE
my $bad = write_file("$dir/01_nocol.yaml", <<'YAML');
operations:
  - rename_column:
      table: items
      from: nope
      to: other
YAML
($rc, $out, $err) = client('app', 'validate', $bad);
is($rc, 1, 'validate of a migration the schema refuses: exit 1');
like($err, qr/01_nocol\.yaml: error [0-9A-Z]{5}: .*nope/, 'validate prints the error with its SQLSTATE');
($rc, $out, $err) = client('app', 'start', $bad);
is($rc, 1, 'start of it: exit 1');
like($err, qr/\(SQLSTATE [0-9A-Z]{5}\)/, 'start prints the server error with its SQLSTATE');
is($node->safe_psql('app', $history_sql), '', 'nothing was changed');

# the directory's order conflicts with the history
my $mdir = PostgreSQL::Test::Utils::tempdir();
write_file("$mdir/01_a.yaml", "operations:\n  - create_table:\n      name: a\n      columns:\n        - name: id\n          type: integer\n          pk: true\n");
write_file("$mdir/02_b.yaml", "operations:\n  - create_table:\n      name: b\n      columns:\n        - name: id\n          type: integer\n          pk: true\n");
write_file("$mdir/03_c.yaml", "operations:\n  - create_table:\n      name: c\n      columns:\n        - name: id\n          type: integer\n          pk: true\n");
($rc, $out, $err) = client('app', 'migrate', $mdir, '--expect-one');
is($rc, 1, '--expect-one with three pending files: exit 1');
like($err, qr/3 migrations are pending .* --expect-one allows one; nothing was applied/, 'and says so');
is($node->safe_psql('app', $history_sql), '', 'nothing was applied');

($rc, $out, $err) = client('app', 'migrate', $mdir);
is($rc, 0, 'migrate: exit 0') or diag($err);
is($node->safe_psql('app', $history_sql), '01_a complete,02_b complete,03_c in_progress',
	'migrate completes all but the last and starts the last');
($rc, $out, $err) = client('app', 'migrate', $mdir);
is($rc, 0, 'migrate with an active migration: exit 0');
like($out, qr/migration "03_c" is in progress/, 'and says so');
client('app', 'complete');

my $odir = PostgreSQL::Test::Utils::tempdir();
for my $f ('01_a.yaml', '03_c.yaml') { write_file("$odir/$f", "operations: []\n") }
write_file("$odir/02_x.yaml", "operations: []\n");
($rc, $out, $err) = client('app', 'migrate', $odir);
is($rc, 1, 'a directory whose order conflicts with the history: exit 1');
like($err, qr/does not match the history of schema "public": migration 2 of the history is "02_b", but file 2 of the directory is "02_x\.yaml"/,
	'the message names the first mismatch');
unlink("$odir/02_x.yaml");
($rc, $out, $err) = client('app', 'migrate', $odir);
like($err, qr/migration 2 of the history is "02_b", but file 2 of the directory is "03_c\.yaml"/,
	'a file missing from the directory is a mismatch too');
is($node->safe_psql('app', $history_sql), '01_a complete,02_b complete,03_c complete', 'and nothing changed');

# a connection lost in the middle of wait
$node->safe_psql('app', q{
INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 12000) g;
ANALYZE items;
ALTER DATABASE app SET migrate_ext.backfill_batch_size = 100;
ALTER DATABASE app SET migrate_ext.backfill_delay = '100ms';
});
write_file("$mdir/04_len.yaml", <<'YAML');
operations:
  - add_column:
      table: items
      column:
        name: len
        type: integer
      up: length(name)
YAML
($rc, $out, $err) = client('app', 'migrate', $mdir);
is($rc, 0, 'migrate starts 04 (a backfill of 120 batches, 100 ms apart)') or diag($err);
my ($wout, $werr) = ('', '');
my $h = IPC::Run::start([ 'migrate_ext', '-d', $node->connstr('app'), 'wait' ],
	'<', \undef, '>', \$wout, '2>', \$werr);
$node->poll_query_until('app', q{
SELECT count(*) > 0 FROM pg_stat_activity
WHERE datname = 'app' AND pid <> pg_backend_pid()
  AND (query LIKE '%FROM mig.status($1)%' OR query LIKE '%FROM mig.jobs WHERE schema = $1%')})
  or die 'wait did not connect';
$node->safe_psql('app', q{
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = 'app' AND pid <> pg_backend_pid()
  AND (query LIKE '%FROM mig.status($1)%' OR query LIKE '%FROM mig.jobs WHERE schema = $1%')});
$h->finish;
is($h->result(0), 1, 'wait whose connection is lost: exit 1') or diag("stdout: $wout\nstderr: $werr");
like($werr, qr/the connection was lost while waiting; nothing was changed on the server\nHINT: Run "migrate_ext wait" again/,
	'and says that wait can be run again');
is($node->safe_psql('app', q{SELECT status FROM mig.status()}), 'In progress', 'the migration is still in progress');
($rc, $out, $err) = client('app', 'wait');
is($rc, 0, 'wait run again finishes') or diag($err);
($rc, $out, $err) = client('app', 'complete');
is($rc, 0, 'and the migration completes');

# bad usage
($rc, $out, $err) = client('app', 'latest', 'nothing');
is($rc, 2, 'a usage error: exit 2');
($rc, $out, $err) = client('app', 'frobnicate');
like($err, qr/unknown command "frobnicate"/, 'an unknown command is named');

$node->stop;
done_testing();
