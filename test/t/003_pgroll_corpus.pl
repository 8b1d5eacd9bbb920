
# Copyright (c) migrate_ext contributors
#
# pgroll compatibility corpus: the 56 example migrations of pgroll's
# repository (test/corpus/pgroll-examples, see its README) run as one
# cumulative sequence, in file-name order, on an empty public schema.
#
# 1. Forward: start, CALL mig.wait, complete, for every file.
# 2. Both ways (a second database): start, rollback, start again, wait,
#    complete, for every file whose expand rollback can undo (not a raw sql
#    operation without "down", as in pgroll: 40).
# 3. Least privilege (a third database): forward again, as a role that is
#    not a superuser and owns the database (so its public schema) and
#    nothing else: every operation works on a role's own tables, and the
#    background jobs run as that role.
#
# After every step both live versions answer a read of every relation they
# contain: the latest version schema and the previous one (the base schema
# public when there is no previous version schema).  The version schemas are
# the ones expected at that step.  Each step is its own psql session and each
# statement its own transaction (mig.wait is a procedure and must be called
# outside a transaction block).  At the end, both databases report the last
# migration as complete, no job is left unfinished, and rolling back and
# redoing each migration left the same schema as running it once.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

# The corpus lives next to the tests; prove runs from the repository root,
# but do not depend on that.
my $corpus_dir = File::Spec->rel2abs(
	File::Spec->catdir(dirname(__FILE__), '..', 'corpus', 'pgroll-examples'));
opendir(my $dh, $corpus_dir) or BAIL_OUT("cannot open $corpus_dir: $!");
my @files = sort grep { /\.json\z/ } readdir($dh);
closedir($dh);
is(scalar(@files), 56, "the corpus in $corpus_dir has 56 migrations")
  or BAIL_OUT('incomplete corpus');

# name, document text and version schema of each migration
my @migrations;
for my $file (@files)
{
	(my $name = $file) =~ s/\.json\z//;
	my $doc = slurp_file("$corpus_dir/$file");
	my $parsed = decode_json($doc);
	my $version = $parsed->{version_schema} // $name;

	# As in pgroll, rollback runs a raw sql operation's "down"; without one
	# there is nothing to undo what its "up" did at start (40 creates a
	# type), and starting the migration again would fail.
	my $undoable = 1;
	for my $op (@{ $parsed->{operations} })
	{
		my $sql = $op->{sql} or next;
		$undoable = 0 if !defined $sql->{down} && !$sql->{onComplete};
	}
	push @migrations,
	  {
		name => $name,
		doc => $doc,
		version => "public_$version",
		undoable => $undoable
	  };
}

my $node = PostgreSQL::Test::Cluster->new('pgroll_corpus');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'migrate_ext'");
$node->start;

sub sql_literal
{
	my ($value) = @_;
	return 'NULL' unless defined $value;
	$value =~ s/'/''/g;
	return "'$value'";
}

# A DO block that checks the live version schemas against the expected ones
# and reads every relation of both live versions.  It fails with one line per
# relation that could not be read; on success it says what it read.
sub read_check_sql
{
	my ($exp_latest, $exp_previous) = @_;
	my $latest = sql_literal($exp_latest);
	my $previous = sql_literal($exp_previous);
	return qq{
DO \$check\$
DECLARE
	latest text := mig.latest_version('public');
	previous text := mig.previous_version('public');
	schemas text[];
	rel record;
	nread integer := 0;
	failures text := '';
BEGIN
	IF latest IS DISTINCT FROM ${latest}::text
	   OR previous IS DISTINCT FROM ${previous}::text THEN
		failures := format(E'\\nlatest_version = %s, previous_version = %s; expected %s and %s',
			coalesce(latest, 'NULL'), coalesce(previous, 'NULL'),
			coalesce(${latest}::text, 'NULL'), coalesce(${previous}::text, 'NULL'));
	END IF;
	-- the new version, and the old one: the previous version schema, or
	-- the base schema when there is none
	schemas := array_remove(ARRAY[latest, coalesce(previous, 'public')], NULL);
	FOR rel IN
		SELECT n.nspname, c.relname
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ANY (schemas) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		ORDER BY n.nspname, c.relname
	LOOP
		BEGIN
			EXECUTE format('SELECT count(*) FROM %I.%I', rel.nspname, rel.relname);
			EXECUTE format('SELECT * FROM %I.%I LIMIT 1', rel.nspname, rel.relname);
			nread := nread + 1;
		EXCEPTION WHEN OTHERS THEN
			failures := failures || format(E'\\n%I.%I: %s (SQLSTATE %s)',
				rel.nspname, rel.relname, SQLERRM, SQLSTATE);
		END;
	END LOOP;
	IF failures <> '' THEN
		RAISE EXCEPTION 'read check failed:%', failures;
	END IF;
	RAISE NOTICE 'read % relations in %', nread, array_to_string(schemas, ', ');
END
\$check\$;
};
}

# Runs one step (its SQL, then the read check) in its own psql session.
# Returns 1 if the step's own statements succeeded (whatever the read check
# said), so that the caller can stop a sequence that cannot go on.
sub run_step
{
	my (%p) = @_;
	my $sql = "$p{sql}\n\\echo step-done\n"
	  . read_check_sql($p{latest}, $p{previous});
	my @user = $p{db} eq 'as_owner' ? ('-U', 'app_owner') : ();
	my ($ret, $stdout, $stderr) = $node->psql(
		$p{db}, $sql,
		extra_params => [ @user, @{ $p{extra_params} // [] } ],
		timeout => $PostgreSQL::Test::Utils::timeout_default);
	my $step_done = $stdout =~ /^step-done$/m;
	my $output = (split /^step-done$/m, $stdout)[0] // '';
	$output =~ s/\s+\z//;

	my $result_ok = 1;
	if ($step_done
		&& defined $p{expect_output}
		&& !(ref $p{expect_output}
			? $output =~ $p{expect_output}
			: $output eq $p{expect_output}))
	{
		$result_ok = 0;
		$stderr .= "\nstep returned \"$output\", expected \"$p{expect_output}\"";
	}
	ok($ret == 0 && $result_ok, "$p{db}: $p{label}")
	  or diag(
		($step_done ? 'step ran; its result or the read check failed' : 'step failed')
		  . " (psql exit code $ret):\n$stderr");
	note "$p{label}: $output" if $ret == 0 && $output ne '';
	note "$p{label}: $stderr" if $ret == 0 && $stderr ne '';
	return $step_done;
}

sub start_step
{
	my ($db, $i, $label) = @_;
	my $m = $migrations[$i];
	return run_step(
		db => $db,
		label => "$m->{name}: $label",
		sql => q{SET migrate_ext.strict_expressions = off;
SELECT mig.start(:'name', :'doc'::jsonb);},
		extra_params => [ '-v', "name=$m->{name}", '-v', "doc=$m->{doc}" ],
		expect_output => $m->{version},
		latest => $m->{version},
		previous => $i > 0 ? $migrations[ $i - 1 ]{version} : undef);
}

sub wait_step
{
	my ($db, $i) = @_;
	my $m = $migrations[$i];
	return run_step(
		db => $db,
		label => "$m->{name}: wait",
		sql => q{CALL mig.wait('public', '2 min');
SELECT format('%s of %s jobs unfinished', count(*) FILTER (WHERE state <> 'done'), count(*))
FROM mig.jobs WHERE schema = 'public';},
		expect_output => qr/^0 of \d+ jobs unfinished\z/,
		latest => $m->{version},
		previous => $i > 0 ? $migrations[ $i - 1 ]{version} : undef);
}

sub complete_step
{
	my ($db, $i) = @_;
	my $m = $migrations[$i];
	return run_step(
		db => $db,
		label => "$m->{name}: complete",
		sql => q{SELECT mig.complete();},
		latest => $m->{version},
		previous => undef);
}

sub rollback_step
{
	my ($db, $i) = @_;
	my $m = $migrations[$i];
	return run_step(
		db => $db,
		label => "$m->{name}: rollback",
		sql => q{SELECT mig.rollback();},
		latest => $i > 0 ? $migrations[ $i - 1 ]{version} : undef,
		previous => undef);
}

sub create_database
{
	my ($db, $owner) = @_;
	$node->safe_psql('postgres',
		"CREATE DATABASE $db" . ($owner ? " OWNER $owner" : ''));
	$node->safe_psql($db, 'CREATE EXTENSION migrate_ext');
	return;
}

sub final_state
{
	my ($db) = @_;
	is( $node->safe_psql(
			$db, q{SELECT status || '|' || migration FROM mig.status()}),
		'Complete|56_with_version_schema',
		"$db: the last migration is complete");
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM mig.jobs WHERE state <> 'done'}),
		'0', "$db: no job is left unfinished")
	  or diag $node->safe_psql($db, q{SELECT * FROM mig.jobs WHERE state <> 'done'});
	is( $node->safe_psql(
			$db, q{
			SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace
			WHERE nspname LIKE 'public\_%'}),
		'public_with_version_schema',
		"$db: only the last version schema is left");
	note "$db: jobs run: " . $node->safe_psql($db, q{
		SELECT string_agg(kind || ' ' || n, ', ' ORDER BY kind)
		FROM (SELECT kind, count(*) AS n FROM mig.jobs GROUP BY kind) s});
	return;
}

# The base schema, as the user sees it: relations, columns, constraints,
# indexes, comments.
my $schema_digest_sql = q{
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
		SELECT format('rel %s %s', c.relname, c.relkind) AS line
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
		UNION ALL
		SELECT format('col %s.%s %s notnull=%s default=%s comment=%s', c.relname,
			a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
			pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum))
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
		SELECT format('comment %s %s', c.relname, obj_description(c.oid, 'pg_class'))
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
		  AND obj_description(c.oid, 'pg_class') IS NOT NULL
		UNION ALL
		SELECT format('type %s %s', t.typname, (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
			FROM pg_enum e WHERE e.enumtypid = t.oid))
		FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace AND t.typtype = 'e'
	) s
};

#
# 1. Forward
#
my $t0 = time();
create_database('forward');
for my $i (0 .. $#migrations)
{
	my $ok = start_step('forward', $i, 'start')
	  && wait_step('forward', $i)
	  && complete_step('forward', $i);
	if (!$ok)
	{
		fail("forward: sequence stopped at $migrations[$i]{name}");
		last;
	}
}
final_state('forward');
note sprintf('forward: %.1f s', time() - $t0);

#
# 2. Both ways: start, rollback, start again, wait, complete
#    (start, wait, complete for a migration that rollback cannot undo)
#
$t0 = time();
create_database('both_ways');
for my $i (0 .. $#migrations)
{
	my $ok;
	if ($migrations[$i]{undoable})
	{
		$ok = start_step('both_ways', $i, 'start')
		  && rollback_step('both_ways', $i)
		  && start_step('both_ways', $i, 'start after rollback')
		  && wait_step('both_ways', $i)
		  && complete_step('both_ways', $i);
	}
	else
	{
		note "$migrations[$i]{name}: a raw sql operation without down "
		  . 'cannot be rolled back; run forward only';
		$ok = start_step('both_ways', $i, 'start')
		  && wait_step('both_ways', $i)
		  && complete_step('both_ways', $i);
	}
	if (!$ok)
	{
		fail("both_ways: sequence stopped at $migrations[$i]{name}");
		last;
	}
}
final_state('both_ways');
note sprintf('both ways: %.1f s', time() - $t0);

#
# 3. As a role that owns the database and is not a superuser
#
$t0 = time();
$node->safe_psql('postgres', 'CREATE ROLE app_owner LOGIN');
create_database('as_owner', 'app_owner');
for my $i (0 .. $#migrations)
{
	my $ok = start_step('as_owner', $i, 'start')
	  && wait_step('as_owner', $i)
	  && complete_step('as_owner', $i);
	if (!$ok)
	{
		fail("as_owner: sequence stopped at $migrations[$i]{name}");
		last;
	}
}
final_state('as_owner');
is( $node->safe_psql(
		'as_owner', q{
		SELECT string_agg(DISTINCT started_by::text, ',') FROM mig.migrations}),
	'app_owner',
	'as_owner: every migration is recorded as started by app_owner');
is( $node->safe_psql(
		'as_owner', q{
		SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class
		WHERE relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname LIKE 'public%')}),
	'app_owner',
	'as_owner: every table, index and view the corpus made belongs to app_owner');
note sprintf('as owner: %.1f s', time() - $t0);

my $forward_schema = $node->safe_psql('forward', $schema_digest_sql);
my $both_ways_schema = $node->safe_psql('both_ways', $schema_digest_sql);
is($both_ways_schema, $forward_schema,
	'rolling back and redoing each migration leaves the same schema as running it once');
is($node->safe_psql('as_owner', $schema_digest_sql), $forward_schema,
	'the corpus run by the database owner leaves the same schema as run by a superuser');
note "schema after the corpus:\n$forward_schema";

$node->stop;

done_testing();
