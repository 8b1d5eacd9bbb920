# Copyright (c) migrate_ext contributors
#
# Pinning a version behind a real PgBouncer in transaction pooling (issue 17,
# item 3).  PgBouncer hands each transaction whatever server connection of the
# pool is free, so a session's SET does not follow the client.  What a user
# relies on, each driven through PgBouncer from Debian's package:
#
#  (a) libpq's options=-csearch_path=... is refused by PgBouncer, never
#      silently dropped: before 1.20 with "unsupported startup parameter:
#      options", from 1.20 on with "unsupported startup parameter in
#      options: search_path" unless the server is PostgreSQL 18 (which
#      reports search_path, so PgBouncer tracks it): there it is applied;
#  (b) a per-role setting (ALTER ROLE ... SET search_path) pins every
#      transaction of that role to its version, while another role on the
#      same PgBouncer writes as the old version, transactions interleaved on a
#      pool of one server connection per role;
#  (c) a PgBouncer database alias with connect_query pins every transaction
#      of that alias (its own pool) to its version;
#  (d) SET LOCAL search_path, or SET LOCAL migrate_ext.version for a write to
#      the table itself, pins one transaction and does not leak to the next
#      transaction on the same server connection (used by another client);
#  (e) a session-level SET search_path leaks to other clients sharing the
#      server connection (the reason the README says to use one of the
#      above), except with PgBouncer 1.20 or later and PostgreSQL 18.

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgbouncer_bin;
foreach my $p ('/usr/sbin/pgbouncer', '/usr/bin/pgbouncer')
{
	$pgbouncer_bin = $p if -x $p;
}
plan skip_all => 'PgBouncer is not installed (Debian package pgbouncer)'
  unless defined $pgbouncer_bin;

my $node = PostgreSQL::Test::Cluster->new('pgb');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'migrate_ext'
migrate_ext.backfill_delay = 0
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE ROLE app LOGIN;
	CREATE ROLE app_v1 LOGIN;
	CREATE ROLE app_v2 LOGIN;
	GRANT CREATE ON SCHEMA public TO app;
	SET ROLE app;
	CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);
	INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 100) g;
	RESET ROLE;
	GRANT USAGE ON SCHEMA mig TO app;
});
$node->safe_psql('postgres',
	q{SET ROLE app; SELECT mig.start('02_add_title', '{"operations": [{"add_column": {"table": "items", "up": "upper(name)", "column": {"name": "title", "type": "text", "nullable": true}}}]}')}
);
$node->safe_psql('postgres', q{CALL mig.wait()});
$node->safe_psql(
	'postgres', q{
	GRANT USAGE ON SCHEMA public_02_add_title TO app_v1, app_v2;
	GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public, public_02_add_title TO app_v1, app_v2;
	ALTER ROLE app_v2 SET search_path = public_02_add_title;
	ALTER ROLE app_v1 SET search_path = public;
});

# PgBouncer in transaction pooling, one server connection per pool
my $dir = PostgreSQL::Test::Utils::tempdir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $pgport = $node->port;
open my $fh, '>', "$dir/userlist.txt" or die;
print $fh qq{"app" ""\n"app_v1" ""\n"app_v2" ""\n};
close $fh;
open $fh, '>', "$dir/pgbouncer.ini" or die;
print $fh <<"EOF";
[databases]
postgres = host=$host port=$pgport dbname=postgres
app_v2 = host=$host port=$pgport dbname=postgres connect_query='SET search_path = public_02_add_title'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
close $fh;
system($pgbouncer_bin, '-d', "$dir/pgbouncer.ini") == 0
  or die "pgbouncer did not start";
END
{
	if (defined $dir && -f "$dir/pgbouncer.pid")
	{
		open my $p, '<', "$dir/pgbouncer.pid";
		my $pid = <$p>;
		kill 'TERM', $pid if $pid;
	}
}

my $psql = $node->installed_command('psql');

# Run SQL through PgBouncer; returns (exit code, stdout, stderr).
sub via_pgbouncer
{
	my ($conninfo, $sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			$psql, '-X', '-qAt', '-v', 'ON_ERROR_STOP=1',
			'-d', "host=127.0.0.1 port=$port $conninfo", '-c', $sql
		],
		'>', \$out, '2>', \$err);
	chomp $out;
	return ($? >> 8, $out, $err);
}

# A client that keeps its connection to PgBouncer open, running one SQL
# string at a time.
sub client
{
	my ($conninfo) = @_;
	my %c = (in => '', out => '', err => '');
	$c{h} = IPC::Run::start(
		[
			$psql, '-X', '-qAt', '-v', 'ON_ERROR_STOP=0',
			'-d', "host=127.0.0.1 port=$port $conninfo"
		],
		'<', \$c{in}, '>', \$c{out}, '2>', \$c{err},
		IPC::Run::timeout(120));
	return \%c;
}

my $marker = 0;

sub query
{
	my ($c, $sql) = @_;
	$marker++;
	$sql .= ';' unless $sql =~ /;\s*$/;
	$c->{out} = '';
	$c->{err} = '';
	$c->{in} .= "$sql\n\\echo DONE$marker\n";
	$c->{h}->pump until $c->{out} =~ /DONE$marker\n/;
	(my $r = $c->{out}) =~ s/DONE$marker\n//;
	chomp $r;
	return $r;
}

# wait until PgBouncer answers
my $up = 0;
foreach (1 .. 100)
{
	my ($rc) = via_pgbouncer('dbname=postgres user=app_v1', 'SELECT 1');
	if ($rc == 0) { $up = 1; last; }
	select(undef, undef, undef, 0.1);
}
ok($up, 'PgBouncer accepts connections');

# PgBouncer 1.20 learned the options startup parameter; PostgreSQL 18
# reports search_path to the client, which lets PgBouncer keep each
# client's own across server connections
my $version_out = `$pgbouncer_bin --version`;
my ($pgb_major, $pgb_minor) = $version_out =~ /PgBouncer (\d+)\.(\d+)/;
my $pgb_new = $pgb_major > 1 || ($pgb_major == 1 && $pgb_minor >= 20);
my $pg18 = $node->safe_psql('postgres', 'SHOW server_version_num') >= 180000;
note "PgBouncer $pgb_major.$pgb_minor, PostgreSQL "
  . $node->safe_psql('postgres', 'SHOW server_version');

# (a) options=: PgBouncer passes on a setting in options only if it tracks
# that parameter, and it tracks search_path only where the server reports it
# (PostgreSQL 18); elsewhere it refuses the connection.  Never dropped.
my ($rc, $out, $err) = via_pgbouncer(
	'dbname=postgres user=app_v2 options=-csearch_path=public_02_add_title',
	'SHOW search_path');
if ($pgb_new && $pg18)
{
	is($rc, 0, 'options=-csearch_path=... through PgBouncer 1.20 or later to PostgreSQL 18 connects') or diag $err;
	is($out, 'public_02_add_title', 'and the search path is the one it names');
}
else
{
	isnt($rc, 0, 'options=-csearch_path=... through PgBouncer fails');
	like($err, qr/unsupported startup parameter(: options| in options: search_path)/,
		'PgBouncer says the parameter is unsupported');
}

# (b) per-role settings, two roles interleaved on one PgBouncer
my $v1 = client('dbname=postgres user=app_v1');
my $v2 = client('dbname=postgres user=app_v2');
foreach my $i (1 .. 5)
{
	my $a = 1000 + $i;
	my $b = 2000 + $i;
	query($v2, "INSERT INTO items (id, name, title) VALUES ($b, 'n$b', 'own title $b')");
	query($v1, "INSERT INTO items (id, name) VALUES ($a, 'n$a')");
}
is(query($v2, 'SELECT count(*) FROM items WHERE id > 2000 AND title LIKE $$own title%$$'),
	'5', 'role app_v2 (ALTER ROLE ... SET search_path) writes as the new version every time');
is($v2->{err}, '', 'no error for app_v2');
is(query($v1, 'SELECT current_schemas(false)::text'), '{public}',
	'role app_v1 stays on the base schema');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM public_02_add_title.items WHERE id BETWEEN 1001 AND 1005 AND title = upper(name)}),
	'5', 'rows app_v1 wrote as the old version get title = up(name)');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM public_02_add_title.items WHERE id BETWEEN 2001 AND 2005 AND title = 'own title ' || id}),
	'5', 'rows app_v2 wrote as the new version keep their title');

# (c) a database alias with connect_query
($rc, $out, $err) = via_pgbouncer('dbname=app_v2 user=app',
	q{INSERT INTO items (id, name, title) VALUES (3001, 'n3001', 'alias title') RETURNING title});
is($rc, 0, 'a write through the app_v2 alias (connect_query) succeeds') or diag $err;
is($out, 'alias title', 'the alias writes as the new version');
($rc, $out) = via_pgbouncer('dbname=postgres user=app', 'SELECT current_schemas(false)::text');
is($out, '{public}', 'the plain alias, same role, is on the base schema (its own pool)');

# (d) SET LOCAL for one transaction; the next client on the same server
# connection (pool of one for role app) sees none of it
my $c1 = client('dbname=postgres user=app');
my $c2 = client('dbname=postgres user=app');
is( query(
		$c1, q{BEGIN;
SET LOCAL search_path = public_02_add_title;
INSERT INTO items (id, name, title) VALUES (4001, 'n4001', 'local title') RETURNING title;
COMMIT;}),
	'local title',
	'SET LOCAL search_path pins one transaction to the new version');
is(query($c2, 'SELECT current_schemas(false)::text'), '{public}',
	'the next transaction, from another client on the same server connection, is on the base schema');
is( query(
		$c1, q{BEGIN;
SET LOCAL migrate_ext.version = 'public';
INSERT INTO public.items (id, name) VALUES (4002, 'n4002');
COMMIT;}),
	'',
	'SET LOCAL migrate_ext.version names the version of a write to the table itself');
is($c1->{err}, '', 'no error for the SET LOCAL transactions') or diag $c1->{err};
is(query($c2, q{SELECT current_setting('migrate_ext.version', true)}), '',
	'migrate_ext.version does not leak to the next transaction');
is($node->safe_psql('postgres',
		q{SELECT title FROM public_02_add_title.items WHERE id = 4002}),
	'N4002', 'the write as the base version got title = up(name)');

# (e) a session-level SET leaks to whoever gets the server connection next,
# except where PgBouncer tracks search_path (1.20 or later, PostgreSQL 18)
query($c1, 'SET search_path = public_02_add_title');
my $seen = query($c2, 'SELECT current_schemas(false)::text');
if ($pgb_new && $pg18)
{
	is($seen, '{public}',
		'with PgBouncer 1.20 or later and PostgreSQL 18, a session-level SET search_path stays with its client');
	is(query($c1, 'SELECT current_schemas(false)::text'), '{public_02_add_title}',
		'and its client keeps it');
}
else
{
	is($seen, '{public_02_add_title}',
		'a session-level SET search_path leaks to another client in transaction pooling (why the README says SET LOCAL)');
}
query($c1, 'RESET search_path');
query($c2, 'RESET search_path');

# the migration completes with PgBouncer's server connections open
$node->safe_psql('postgres', q{SET ROLE app; SELECT mig.complete()});
is(query($v2, q{SELECT count(*) FROM items WHERE title IS NOT NULL}),
	'113', 'after complete, role app_v2 reads the new version (every row has a title)');

foreach my $c ($v1, $v2, $c1, $c2)
{
	$c->{in} .= "\\q\n";
	$c->{h}->finish;
}
done_testing();
