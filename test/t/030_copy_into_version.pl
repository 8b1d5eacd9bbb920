# Copyright (c) migrate_ext contributors
#
# Bulk loads into a version (issue 17, item 5): COPY ... FROM into a version
# view.  PostgreSQL itself refuses COPY into a view; migrate_ext runs it
# through a temporary table and an INSERT through the view.  What a user
# relies on:
#  - COPY FROM STDIN into the new version's view loads every row, with the
#    new version's column names, a column list or none, text or CSV with a
#    header, and psql's \copy; the command tag counts the rows;
#  - each row is a write as the new version: the old version sees down()
#    of it, the view's defaults fill columns the list leaves out;
#  - the caller needs INSERT on the view (42501 otherwise, nothing loaded);
#    a bad row or a column the view does not have loads nothing (42703
#    names the view's column);
#  - COPY's messages name the view; FREEZE is refused; without TEMPORARY on
#    the database, the refusal says so;
#  - nothing is left behind (no temporary table), and COPY into any other
#    view is refused as PostgreSQL refuses it.

use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('copy');
$node->init;
$node->append_conf('postgresql.conf', q{shared_preload_libraries = 'migrate_ext'});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION migrate_ext;
	CREATE ROLE loader LOGIN;
	CREATE ROLE reader LOGIN;
	CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price integer NOT NULL DEFAULT 1);
	INSERT INTO items SELECT g, 'item' || g, g FROM generate_series(1, 100) g;
	CREATE VIEW plain_view AS SELECT id, name FROM items;
});
$node->safe_psql('postgres',
	q{SELECT mig.start('02_rename', '{"operations": [
	{"rename_column": {"table": "items", "from": "name", "to": "title"}},
	{"alter_column": {"table": "items", "column": "price", "type": "bigint",
	 "up": "price * 100", "down": "price / 100"}}]}')});
$node->safe_psql('postgres', q{CALL mig.wait()});
$node->safe_psql(
	'postgres', q{
	GRANT USAGE ON SCHEMA public_02_rename TO loader, reader;
	GRANT SELECT, INSERT ON public_02_rename.items, public.items TO loader;
	GRANT SELECT ON public_02_rename.items, public.items TO reader;
});

my ($ret, $out, $err) = $node->psql(
	'postgres', q{COPY public_02_rename.items (id, title, price) FROM STDIN;
1001	copied one	500
1002	copied two	700
\.
});
is($ret, 0, 'COPY FROM STDIN into the new version view succeeds') or diag $err;
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(id || ':' || title || ':' || price, ',' ORDER BY id)
		FROM public_02_rename.items WHERE id > 1000}),
	'1001:copied one:500,1002:copied two:700',
	'the new version has the rows as loaded');
is( $node->safe_psql(
		'postgres', q{SELECT string_agg(id || ':' || name || ':' || price, ',' ORDER BY id)
		FROM public.items WHERE id > 1000}),
	'1001:copied one:5,1002:copied two:7',
	'the old version has down() of them: each row was a write as the new version');

# the command tag, through psql's \copy, CSV with a header, no column list
my $csv = $node->basedir . '/items.csv';
open my $fh, '>', $csv or die;
print $fh "id,title,price\n2001,csv one,100\n2002,\"csv, two\",200\n2003,csv three,300\n";
close $fh;
my $psql_err = '';
IPC::Run::run(
	[
		$node->installed_command('psql'), '-X', '-d', $node->connstr('postgres'),
		'-c', qq{\\copy public_02_rename.items FROM '$csv' WITH (FORMAT csv, HEADER true)}
	],
	'>', \$out, '2>', \$psql_err);
chomp $out;
is($out, 'COPY 3', '\\copy with CSV and a header loads three rows, and says so') or diag $psql_err;
is($node->safe_psql('postgres', q{SELECT title FROM public_02_rename.items WHERE id = 2002}),
	'csv, two', 'a quoted CSV field arrives whole');

# a column list that leaves out a column with a default
$node->safe_psql(
	'postgres', q{COPY public_02_rename.items (id, title) FROM STDIN;
3001	no price
\.
});
is($node->safe_psql('postgres', q{SELECT price FROM public_02_rename.items WHERE id = 3001}),
	'1', 'a column the list leaves out gets the column\'s default, as an INSERT through the view does');

# privileges: INSERT on the view
($ret, $out, $err) = $node->psql(
	'postgres', q{SET ROLE reader;
COPY public_02_rename.items (id, title, price) FROM STDIN;
4001	denied	100
\.
});
like($err, qr/permission denied for (view|table) items/, 'a role without INSERT is refused, as an INSERT through the view would be');
($ret, $out, $err) = $node->psql(
	'postgres', q{SET ROLE loader;
COPY public_02_rename.items (id, title, price) FROM STDIN;
4002	allowed	100
\.
});
is($ret, 0, 'a role with INSERT on the view loads') or diag $err;

# errors load nothing
($ret, $out, $err) = $node->psql(
	'postgres', q{COPY public_02_rename.items (id, title, price) FROM STDIN;
5001	good	100
5002	bad	not-a-number
\.
});
like($err, qr/invalid input syntax for type bigint/, 'a bad value is reported as COPY reports it');
like($err, qr/COPY public_02_rename\.items, line 2, column price/,
	'naming the view the caller named, the line and the column');
($ret, $out, $err) = $node->psql(
	'postgres', q{COPY public_02_rename.items (id, title, price) FROM STDIN WITH (FREEZE);
5004	frozen	100
\.
});
like($err, qr/COPY FREEZE into view "items" is not supported/,
	'FREEZE is refused (the rows are inserted through the view, not written frozen)');
$node->safe_psql('postgres', q{REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC});
($ret, $out, $err) = $node->psql(
	'postgres', q{SET ROLE loader;
COPY public_02_rename.items (id, title, price) FROM STDIN;
5005	no temp	100
\.
});
like($err, qr/permission denied to create temporary tables in database "postgres"/,
	'without TEMPORARY on the database, the refusal says what is missing');
$node->safe_psql('postgres', q{GRANT TEMPORARY ON DATABASE postgres TO PUBLIC});
($ret, $out, $err) = $node->psql(
	'postgres', q{COPY public_02_rename.items (id, name) FROM STDIN;
5003	old name
\.
}, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42703.*column "name" of relation "items" does not exist/,
	'a column of the old version only is not a column of the view (42703)');
($ret, $out, $err) = $node->psql(
	'postgres', q{COPY public_02_rename.items (id, title, price) FROM STDIN;
1001	duplicate	100
\.
});
like($err, qr/duplicate key value violates unique constraint "items_pkey"/,
	'a duplicate key fails as an INSERT would');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public_02_rename.items WHERE id > 5000 OR title = 'duplicate'}),
	'0', 'failed loads left no row');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'pg\_temp%' AND c.relkind = 'r'}),
	'0', 'no staging table is left behind');

# other views are PostgreSQL's business
($ret, $out, $err) = $node->psql(
	'postgres', q{COPY plain_view FROM STDIN;
9001	x
\.
});
like($err, qr/cannot copy to view "plain_view"/, 'COPY into an ordinary view is still refused');

$node->safe_psql('postgres', q{SELECT mig.complete()});
is($node->safe_psql('postgres', q{SELECT count(*) FROM items WHERE id > 1000}),
	'7', 'after complete, the table has every loaded row');

done_testing();
