
# Copyright (c) migrate_ext contributors
#
# The command-line client (bin/migrate_ext) against a real server:
# - migrate of pgroll's 56 examples as YAML files (test/corpus/
#   pgroll-examples-yaml, made by test/corpus/make_yaml.py) from an empty
#   database: every file converts to exactly the JSON document of
#   test/corpus/pgroll-examples (the history stores it), and all 56 run;
#   a second run changes nothing;
# - start, wait (with --timeout, and to the end with progress lines) and
#   complete of a migration with a backfill;
# - pull, then migrate of the pulled files on a fresh database, gives the
#   same schema and the same documents;
# - latest schema|migration|url: the URL connects and sees the new version;
# - status prints pgroll's JSON with phase and jobs; validate changes
#   nothing.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy;
use File::Spec;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $corpus = File::Spec->rel2abs(File::Spec->catdir(dirname(__FILE__), '..', 'corpus'));
my $yaml_dir = "$corpus/pgroll-examples-yaml";
my $json_dir = "$corpus/pgroll-examples";

my $node = PostgreSQL::Test::Cluster->new('client');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
max_worker_processes = 16
});
$node->start;

# run the client; returns (exit code, stdout, stderr)
sub client
{
	my ($db, @args) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'migrate_ext', '-d', $node->connstr($db), @args ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return ($? >> 8, $out, $err);
}

my $schema_digest_sql = q{
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
		SELECT format('col %s.%s %s notnull=%s default=%s', c.relname, a.attname,
			format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)) AS line
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')
		UNION ALL
		SELECT format('con %s.%s %s', c.relname, co.conname, pg_get_constraintdef(co.oid))
		FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid
		WHERE c.relnamespace = 'public'::regnamespace
		UNION ALL
		SELECT format('idx %s', pg_get_indexdef(i.indexrelid))
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = 'public'::regnamespace
		UNION ALL
		SELECT format('schema %s', nspname) FROM pg_namespace WHERE nspname LIKE 'public\_%'
	) s
};

#
# init, status
#
$node->safe_psql('postgres', 'CREATE DATABASE corpus');
my ($rc, $out, $err) = client('corpus', 'init');
is($rc, 0, 'init exits 0');
like($out, qr/migrate_ext is installed in database "corpus"/, 'init says where');
is($node->safe_psql('corpus', q{SELECT extname FROM pg_extension WHERE extname = 'migrate_ext'}),
	'migrate_ext', 'init created the extension');
is($err, '', 'init does not warn when the library is preloaded');
($rc, $out) = client('corpus', 'init');
is($rc, 0, 'init again exits 0 (IF NOT EXISTS)');
($rc, $out) = client('corpus', 'status');
is($rc, 0, 'status exits 0');
like($out, qr/"Schema": "public",\n  "Version": null,\n  "Status": "No migrations"/,
	'status prints pgroll\'s JSON');

#
# migrate: the 56 examples as YAML
#
opendir(my $dh, $yaml_dir) or die "cannot open $yaml_dir: $!";
my @yaml = sort grep { /\.yaml\z/ } readdir($dh);
closedir($dh);
is(scalar(@yaml), 56, 'the YAML corpus has 56 files');

# migrate_ext.strict_expressions = off, as pgroll accepts 35 (see the
# corpus README): PGOPTIONS, libpq's usual means
$ENV{PGOPTIONS} = '-c migrate_ext.strict_expressions=off';
($rc, $out, $err) = client('corpus', 'migrate', $yaml_dir, '--complete');
is($rc, 0, 'migrate of the 56 YAML files exits 0') or diag("$out\n$err");
is(() = $out =~ /^started migration/mg, 56, 'migrate started 56 migrations');
is(() = $out =~ /^completed: /mg, 56, 'and completed them (--complete)');
is($node->safe_psql('corpus', q{SELECT status || '|' || migration FROM mig.status()}),
	'Complete|56_with_version_schema', 'the last migration is complete');

# every YAML file became exactly the corpus document
my $same = 0;
my @differ;
for my $file (@yaml)
{
	(my $name = $file) =~ s/\.yaml\z//;
	my $json = slurp_file("$json_dir/$name.json");
	my $eq = $node->safe_psql('corpus',
		q{SELECT migration = :'doc'::jsonb FROM mig.migrations WHERE schema = 'public' AND name = :'name'},
		extra_params => [ '-v', "doc=$json", '-v', "name=$name" ]);
	if ($eq eq 't') { $same++ } else { push @differ, $name }
}
is($same, 56, 'each of the 56 YAML files converted to the JSON document of the corpus')
  or diag("differ: @differ");

my $digest = $node->safe_psql('corpus', $schema_digest_sql);
my $history = $node->safe_psql('corpus', q{SELECT string_agg(name || ' ' || status || ' ' || updated_at, ',' ORDER BY created_at) FROM mig.migrations});
($rc, $out, $err) = client('corpus', 'migrate', $yaml_dir, '--complete');
is($rc, 0, 'a second migrate exits 0');
like($out, qr/up to date: all 56 migrations/, 'and says the schema is up to date');
is($node->safe_psql('corpus', $schema_digest_sql), $digest, 'the second run changed no schema');
is($node->safe_psql('corpus', q{SELECT string_agg(name || ' ' || status || ' ' || updated_at, ',' ORDER BY created_at) FROM mig.migrations}),
	$history, 'nor the history');

#
# latest
#
($rc, $out) = client('corpus', 'latest', 'schema');
is($out, "public_with_version_schema\n", 'latest schema');
($rc, $out) = client('corpus', 'latest', 'migration');
is($out, "56_with_version_schema\n", 'latest migration');
($rc, $out) = client('corpus', 'latest', 'schema', '--local', $yaml_dir);
is($out, "public_with_version_schema\n", 'latest schema --local reads version_schema from the last file');

#
# pull, then migrate the pulled files on a fresh database
#
my $pulled = PostgreSQL::Test::Utils::tempdir();
copy("$yaml_dir/01_create_tables.yaml", "$pulled/01_create_tables.yaml") or die $!;
($rc, $out, $err) = client('corpus', 'pull', $pulled);
is($rc, 0, 'pull exits 0') or diag($err);
like($out, qr/55 of 56 migrations of schema "public" written/, 'pull wrote the 55 files missing from the directory');
ok(-f "$pulled/56_with_version_schema.yaml", 'pull writes YAML by default');
my $pulled_json = PostgreSQL::Test::Utils::tempdir();
($rc, $out) = client('corpus', 'pull', $pulled_json, '--json');
ok($rc == 0 && -f "$pulled_json/33_rename_check_constraint.json", 'pull --json writes JSON');

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
client('fresh', 'init');
($rc, $out, $err) = client('fresh', 'migrate', $pulled, '--complete');
is($rc, 0, 'migrate of the pulled files on a fresh database exits 0') or diag("$out\n$err");
is($node->safe_psql('fresh', $schema_digest_sql), $digest, 'pull then migrate gives the same schema');
is($node->safe_psql('fresh', q{SELECT string_agg(name || ' ' || migration::text, E'\n' ORDER BY created_at) FROM mig.migrations}),
	$node->safe_psql('corpus', q{SELECT string_agg(name || ' ' || migration::text, E'\n' ORDER BY created_at) FROM mig.migrations}),
	'and the same history, document for document');
$node->safe_psql('postgres', 'CREATE DATABASE fresh_json');
client('fresh_json', 'init');
($rc, $out, $err) = client('fresh_json', 'migrate', $pulled_json, '--complete');
is($rc, 0, 'migrate of the pulled JSON files exits 0') or diag("$out\n$err");
is($node->safe_psql('fresh_json', $schema_digest_sql), $digest, 'the pulled JSON gives the same schema');
delete $ENV{PGOPTIONS};

#
# start, wait, complete of a migration with a backfill
#
$node->safe_psql('postgres', 'CREATE DATABASE bf');
client('bf', 'init');
$node->safe_psql('bf', q{
CREATE TABLE items (id integer PRIMARY KEY, name text);
INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 5000) g;
ANALYZE items;
ALTER DATABASE bf SET migrate_ext.backfill_batch_size = 100;
ALTER DATABASE bf SET migrate_ext.backfill_delay = '100ms';
});
my $dir = PostgreSQL::Test::Utils::tempdir();
open(my $fh, '>', "$dir/01_upper.yaml") or die $!;
print $fh <<'YAML';
# a new column, backfilled from name
operations:
  - add_column:
      table: items
      column:
        name: upper_name
        type: text
        nullable: false
      up: upper(name)
YAML
close($fh);
($rc, $out, $err) = client('bf', 'validate', "$dir/01_upper.yaml");
is($rc, 0, 'validate of a valid file exits 0') or diag($err);
like($out, qr/valid/, 'and says it is valid');
is($node->safe_psql('bf', q{SELECT count(*) FROM mig.migrations}), '0', 'validate changed nothing');

($rc, $out, $err) = client('bf', 'start', "$dir/01_upper.yaml");
is($rc, 0, 'start exits 0') or diag($err);
like($out, qr/search_path public_01_upper/, 'start names the new version schema');
($rc, $out, $err) = client('bf', 'status');
like($out, qr/"Status": "In progress",\n  "Migration": "01_upper",\n  "Phase": "(running jobs|ready to complete)",\n  "Jobs": ".*jobs done/,
	'status shows phase and jobs');
($rc, $out, $err) = client('bf', 'wait', '--timeout', '1');
is($rc, 3, 'wait --timeout 1 on a 5 s backfill exits 3');
like($err, qr/timed out after 1 s/, 'and says it timed out');
($rc, $out, $err) = client('bf', 'wait');
is($rc, 0, 'wait exits 0 once the backfill is done') or diag($err);
like($out, qr/^backfill .*items: running, \d+ of about 5000 rows/m, 'wait printed progress lines (not a terminal)');
like($out, qr/ready to complete/, 'and says the migration is ready to complete');
($rc, $out, $err) = client('bf', 'complete');
is($rc, 0, 'complete exits 0') or diag($err);
is($node->safe_psql('bf', q{SELECT count(*) FROM items WHERE upper_name = upper(name)}),
	'5000', 'every row was backfilled');

# latest url connects and sees the new version
open($fh, '>', "$dir/02_rename.json") or die $!;
print $fh '{"operations": [{"rename_column": {"table": "items", "from": "upper_name", "to": "shout"}}]}';
close($fh);
($rc, $out, $err) = client('bf', 'migrate', $dir);
is($rc, 0, 'migrate starts the one new file (JSON)') or diag($err);
($rc, $out) = client('bf', 'latest', 'url');
chomp $out;
like($out, qr/options=-csearch_path%3Dpublic_02_rename\z/, 'latest url sets the search path');
my ($prc, $pout, $perr) = ('', '', '');
IPC::Run::run([ 'psql', '-XAtq', '-d', $out, '-c', 'SHOW search_path', '-c', 'SELECT count(shout) FROM items' ],
	'>', \$pout, '2>', \$perr);
is($pout, "public_02_rename\n5000\n", 'a connection with that URL sees the new version') or diag($perr);
($rc, $out) = client('bf', 'rollback');
is($rc, 0, 'rollback exits 0');
is($node->safe_psql('bf', q{SELECT status FROM mig.status()}), 'Complete', 'the rollback left 01 as the current migration');

$node->stop;
done_testing();
