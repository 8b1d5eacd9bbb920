
# Copyright (c) migrate_ext contributors
#
# The client's convert command (issue 19): SQL from a file or standard
# input, turned into a migration by mig.convert, printed as YAML (as
# pgroll's convert prints it) or as JSON with --json.  The YAML, written to
# a file, starts and completes with the client; a "sql" operation among
# others is reported on standard error; a syntax error is the server's.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('convert');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE TABLE items (id integer PRIMARY KEY, name text, price text NOT NULL);
	INSERT INTO items VALUES (1, 'apple', '10'), (2, 'pear', '20');
});

# run the client; returns (exit code, stdout, stderr)
sub client
{
	my ($stdin, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migrate_ext', '-d', $node->connstr('postgres'), @args ],
		'<', \$stdin, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

my $dir = tempdir(CLEANUP => 1);
my $sql = q{ALTER TABLE items ADD COLUMN note text CHECK (note <> '');
ALTER TABLE items ALTER COLUMN price TYPE integer;
CREATE INDEX items_name_idx ON items (name);
};
open(my $fh, '>', "$dir/change.sql") or die;
print $fh $sql;
close($fh);

# a file, YAML
my ($rc, $out, $err) = client('', 'convert', "$dir/change.sql");
is($rc, 0, 'convert FILE exits 0');
is($err, '', 'and says nothing on standard error');
like($out, qr/^operations:\n/, 'the output is YAML');
like($out, qr/add_column:/, 'with an add_column');
like($out, qr/up: CAST\(price AS integer\)/, 'a type change with its cast');
like($out, qr/create_index:/, 'and a create_index');

# standard input, JSON
my ($rc2, $json, $err2) = client($sql, 'convert', '--json');
is($rc2, 0, 'convert from standard input with --json exits 0');
is($node->safe_psql('postgres', qq{SELECT \$j\$$json\$j\$::jsonb = mig.convert(\$sql\$$sql\$sql\$)}),
	't', 'the JSON is mig.convert\'s document');

# the YAML starts and completes
open($fh, '>', "$dir/02_change.yaml") or die;
print $fh $out;
close($fh);
($rc, my $sout, my $serr) = client('', 'start', "$dir/02_change.yaml", '--complete');
is($rc, 0, 'the converted YAML starts and completes') or diag($serr);
is($node->safe_psql('postgres',
		q{SELECT string_agg(id || ':' || price || ':' || coalesce(note, '-'), ',' ORDER BY id) FROM items}),
	'1:10:-,2:20:-', 'the rows were converted');
is($node->safe_psql('postgres',
		q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		  WHERE attrelid = 'items'::regclass AND attname = 'price'}),
	'integer', 'price is an integer');

# a sql operation among others: said on standard error
($rc, $out, $err) = client("CREATE TYPE mood AS ENUM ('a'); DROP TABLE items;", 'convert');
is($rc, 0, 'a statement no operation has still converts');
like($out, qr/- sql:\n\s+up: CREATE TYPE mood AS ENUM \('a'\)/, 'into a sql operation');
like($err, qr/1 of the 2 statements converted to "sql" operations/,
	'and the warning is on standard error');

# errors
($rc, $out, $err) = client('CREATE TABLEX t ()', 'convert');
is($rc, 1, 'a syntax error exits 1');
like($err, qr/syntax error at or near "TABLEX" \(SQLSTATE 42601\)/, 'with the server\'s error');
($rc, $out, $err) = client('', 'convert', "$dir/nosuch.sql");
is($rc, 1, 'a missing file exits 1');
like($err, qr/cannot read/, 'and says so');
($rc, $out, $err) = client('', 'convert', 'a', 'b');
is($rc, 2, 'two files are a usage error');

$node->stop;
done_testing();
