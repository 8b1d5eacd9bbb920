
# Copyright (c) migrate_ext contributors
#
# MigFuzz: generates and mutates pgroll migration documents and feeds them to
# mig.start, checking that each one either starts (and then rolls back
# cleanly) or fails with a clear error, that the server never crashes, and
# that after every attempt the catalogs and the migration state are exactly
# as before.  Used by test/t/008_fuzz.pl (a bounded run) and by
# test/fuzz/run.pl (a longer run on a throwaway cluster).
#
# How a run goes (MigFuzz::run):
#   On a fresh database, walk the compatibility corpus
#   (test/corpus/pgroll-examples) in file-name order.  At step k, with
#   documents 1..k-1 applied, feed N mutants to mig.start, then apply
#   document k for real (start, CALL mig.wait, complete) and move on.
#   A mutant is either document k mutated (keys dropped, values of another
#   JSON type, huge strings, deep nesting, unknown operations and keys,
#   random identifiers, types and expressions, duplicated, swapped, shuffled
#   or no operations, a document that is not an object, odd name or schema
#   arguments) or a document generated from the current schema (random
#   operations on the tables, columns, constraints and indexes that exist).
#
# Each mutant runs in one transaction, in a PL/pgSQL helper
# (fuzz_harness.try, installed in the database, in a schema the fingerprint
# ignores): fingerprint, mig.start in an exception block, on success read
# every view of the new version and write through both versions (undone),
# then mig.rollback, fingerprint again.  The transaction then commits, so
# that start + rollback committed together is tested too, and the next
# mutant's "before" fingerprint is compared with the one taken after the
# last real migration (a difference is blamed on the previous mutant).  A
# sample of the mutants that started also goes through the committed path:
# mig.start committed in its own transaction (migrate_ext.start_jobs =
# off), mig.rollback committed in the next, then the fingerprint.
#
# Raw "sql" operations: their "up" is arbitrary SQL by design, and rollback
# cannot undo it without a "down" (nor can it know that the "down" undoes
# it).  A mutant that contains an operation named "sql" is therefore tried
# in a transaction that is rolled back at the end, its "after start and
# rollback" fingerprint is not compared (outcome ok_sql_unchecked; the
# fingerprint is still compared when start fails), and it never goes
# through the committed path.
#
# The fingerprint (fuzz_harness.fp) lists, by name, every namespace,
# relation, column (not dropped ones: PostgreSQL keeps a dropped column as
# a placeholder, which no rollback can remove), default, constraint, index,
# trigger, type, enum label, function, view definition, comment, extension
# and dependency outside pg_catalog, information_schema, pg_toast, temporary
# schemas and fuzz_harness, plus the rows of mig.migrations, mig.steps,
# mig.dual_writes and mig.job_queue, mig.status() of the schema, and a few
# session settings.
#
# Everything random comes from a small PRNG seeded by (seed, step, mutant),
# so a run is reproducible from its seed and a single mutant from its id
# "seed/step/index" (MigFuzz::mutant_by_id).

package MigFuzz;

use strict;
use warnings;

use Encode ();
use File::Spec;
use IPC::Run ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time sleep);

our $JSON = JSON::PP->new->canonical->allow_nonref->max_depth(1_000_000);

###########################################################################
# PRNG: xorshift32 seeded by FNV-1a of the parts (deterministic, platform
# independent, unaffected by anyone else's use of rand()).
###########################################################################

package MigFuzz::Rng;

sub new
{
	my ($class, @parts) = @_;
	my $bytes = join("\x1f", @parts);
	utf8::encode($bytes) if utf8::is_utf8($bytes);
	my $h = 2166136261;
	for my $b (unpack('C*', $bytes))
	{
		$h = (($h ^ $b) * 16777619) & 0xffffffff;
	}
	$h ||= 0x9e3779b9;
	my $self = bless { s => $h }, $class;
	$self->next32 for 1 .. 8;
	return $self;
}

sub next32
{
	my ($self) = @_;
	my $x = $self->{s};
	$x ^= ($x << 13) & 0xffffffff;
	$x ^= $x >> 17;
	$x ^= ($x << 5) & 0xffffffff;
	return $self->{s} = $x;
}

# an integer in [0, n)
sub int
{
	my ($self, $n) = @_;
	return 0 if $n <= 1;
	return CORE::int($self->next32 / 4294967296 * $n);
}

sub chance { my ($self, $p) = @_; return $self->next32 / 4294967296 < $p; }
sub pick { my ($self, @l) = @_; return $l[ $self->int(scalar @l) ]; }

sub shuffle
{
	my ($self, @l) = @_;
	for (my $i = $#l; $i > 0; $i--)
	{
		my $j = $self->int($i + 1);
		@l[ $i, $j ] = @l[ $j, $i ];
	}
	return @l;
}

package MigFuzz;

###########################################################################
# JSON values
###########################################################################

# A fragment of JSON text inserted as is (deep nesting, odd numbers): JSON::PP
# would refuse or normalise them.
package MigFuzz::Raw;
sub new { my ($class, $text) = @_; return bless { text => $text }, $class; }

package MigFuzz;

sub json_true { return JSON::PP::true; }
sub json_false { return JSON::PP::false; }

sub deep_copy
{
	my ($v) = @_;
	my $r = ref $v;
	return [ map { deep_copy($_) } @$v ] if $r eq 'ARRAY';
	return { map { $_ => deep_copy($v->{$_}) } keys %$v } if $r eq 'HASH';
	return $v;	# scalars, booleans, raw fragments (immutable)
}

# The document as UTF-8 JSON text.
sub encode_doc
{
	my ($doc) = @_;
	my @raw;
	my $subst;
	$subst = sub {
		my ($v) = @_;
		my $r = ref $v;
		if ($r eq 'MigFuzz::Raw')
		{
			push @raw, $v->{text};
			return "\x{fdd0}RAW$#raw\x{fdd0}";
		}
		return [ map { $subst->($_) } @$v ] if $r eq 'ARRAY';
		return { map { $_ => $subst->($v->{$_}) } keys %$v } if $r eq 'HASH';
		return $v;
	};
	my $text = $JSON->encode($subst->($doc));
	$text =~ s/"\x{fdd0}RAW(\d+)\x{fdd0}"/$raw[$1]/g;
	return Encode::encode('UTF-8', $text);
}

sub doc_has_sql_op
{
	my ($doc) = @_;
	return 0 unless ref $doc eq 'HASH' && ref $doc->{operations} eq 'ARRAY';
	for my $op (@{ $doc->{operations} })
	{
		return 1 if ref $op eq 'HASH' && exists $op->{sql};
	}
	return 0;
}

###########################################################################
# The corpus
###########################################################################

sub load_corpus
{
	my ($dir) = @_;
	opendir(my $dh, $dir) or die "cannot open $dir: $!";
	my @files = sort grep { /\.json\z/ } readdir($dh);
	closedir($dh);
	my @corpus;
	for my $file (@files)
	{
		(my $name = $file) =~ s/\.json\z//;
		open(my $fh, '<:raw', "$dir/$file") or die "cannot read $dir/$file: $!";
		local $/;
		my $text = <$fh>;
		close $fh;
		push @corpus,
		  { name => $name, text => $text, doc => JSON::PP->new->decode($text) };
	}
	return \@corpus;
}

###########################################################################
# Random values
###########################################################################

my @RESERVED = qw(select table user order from where group public mig
  pg_catalog pg_temp pg_toast information_schema oid ctid xmin xmax cmin cmax
  tableoid null true default all analyse column constraint primary references
  check unique);

sub random_identifier
{
	my ($rng, $ctx) = @_;
	my @existing = @{ $ctx->{names} // [] };
	my $k = $rng->int(24);
	return '' if $k == 0;
	return 'a' x 63 if $k == 1;
	return 'a' x 64 if $k == 2;
	return 'b' x $rng->pick(100, 1000, 100_000) if $k == 3;
	return 'a' . ("\x{e9}" x 31) if $k == 4;	# 63 bytes
	return 'a' . ("\x{e9}" x 32) if $k == 5;	# 65 bytes, 64 cut mid-character
	return $rng->pick('a"b', "a'b", 'a;b', 'a b', ' ', "tab\tx", "new\nline",
		"x\x01y", "x\x7fy", '"', "'", '\\', '$$', '%s', '%I', '--', '/*')
	  if $k == 6;
	return $rng->pick(@RESERVED) if $k == 7;
	return $rng->pick("\x{65e5}\x{672c}\x{8a9e}", "\x{1f600}", "\x{202e}rtl",
		"e\x{301}", "zw\x{200d}j", "\x{feff}bom", "\x{10ffff}")
	  if $k == 8;
	return $rng->pick('Upper', 'MiXeD', 'UPPER') if $k == 9;
	return $rng->pick(q{x"; DROP TABLE bills; --}, q{x'); DROP TABLE bills; --},
		q{x" CASCADE; DROP SCHEMA public CASCADE; --}, q{public.bills})
	  if $k == 10;
	return $rng->pick('123', '1a', '0', '-1') if $k == 11;
	return $rng->pick('_mig_new_id', '_mig_new_name', 'public_01_create_tables',
		'public_with_version_schema', 'mig_dual_write', '~mig_dual_write')
	  if $k == 12;
	if ($k <= 17 && @existing)
	{
		return $rng->pick(@existing);
	}
	# random characters
	my $len = 1 + $rng->int(70);
	my @chars = ('a' .. 'z', '0' .. '9', '_', ' ', '"', "'", ';', '.',
		'-', "\x{e9}", "\x{3b1}", 'A' .. 'Z');
	return join('', map { $rng->pick(@chars) } 1 .. $len);
}

sub random_type
{
	my ($rng, $ctx) = @_;
	return $rng->pick(
		'int', 'integer', 'bigint', 'text', 'varchar(255)', 'boolean',
		'timestamptz', 'numeric(10,2)', 'jsonb', 'uuid', 'serial', 'bigserial',
		'smallserial', 'integer[]', 'text[][]', 'varchar(0)', 'varchar(99999999)',
		'numeric(1001,2)', 'int; DROP TABLE bills; --', 'foo', '', ' ',
		'fruit_size', 'public.fruit_size', 'int4range', 'bit(3)', 'char', '"char"',
		'name', 'oid', 'regclass', 'pg_catalog.int4', 'text COLLATE "C"',
		'text COLLATE "nonexistent"', 'int DEFAULT 1', 'int NOT NULL',
		'int GENERATED ALWAYS AS (1) STORED', 'record', 'anyelement', 'void',
		'trigger', 'cstring', 'internal', 'unknown', 'int)', 'int[', 'x' x 100,
		'time with time zone', 'double precision', 'interval', 'money', 'xml',
		'tsvector', 'point', 'mig.migrations', 'bills', 'customers',
		'int' . ('[]' x 7), random_identifier($rng, $ctx));
}

sub random_expression
{
	my ($rng, $ctx) = @_;
	my @cols = @{ $ctx->{columns} // [] };
	my $k = $rng->int(10);
	if ($k <= 2)
	{
		# valid-looking SQL
		my $c = @cols ? $rng->pick(@cols) : 'id';
		my $qc = '"' . ($c =~ s/"/""/gr) . '"';
		return $rng->pick(
			'1', "'x'", 'NULL', 'now()', 'random()', $qc, "upper($qc)",
			"$qc || 'x'", 'SELECT 1', '(SELECT count(*) FROM bills)',
			"CASE WHEN $qc IS NULL THEN NULL ELSE $qc END", 'true', '0.5',
			"SELECT CASE WHEN $qc IS NULL THEN 1 ELSE 2 END", "length($qc) > 3",
			"$qc > 0", "$qc IS NOT NULL", "CAST($qc AS text)", "${qc}::integer",
			'count(*)', 'row_number() OVER ()', 'generate_series(1, 3)',
			'ROW(1, 2)', "'bills'::regclass", 'NULL::int[]', 'pg_sleep(0.001)',
			"nextval('nonexistent_seq')", "current_setting('search_path')",
			'$1', 'DEFAULT', "(SELECT $qc)", 'EXISTS (SELECT 1)',
			'(SELECT 1 UNION SELECT 2)', "txid_current()", 'gen_random_uuid()');
	}
	elsif ($k <= 4)
	{
		# garbage
		return $rng->pick('', ' ', ')', '((', 'SELECT', 'FROM', '\\', '$$', '@@@',
			';', '--', '/*', "'", '"', ',', '1,2', 'SELECT 1; SELECT 2',
			"\x{0}" =~ s/\x{0}/\x{1}/r, 'E\'\\\\', 'U&"\\0000"', '$x$', 'x' x 70,
			'1 +', 'CASE', 'NULL NULL', 'ORDER BY 1', 'RETURNING *');
	}
	elsif ($k <= 6)
	{
		# injection attempts
		return $rng->pick(
			q{1); DROP TABLE bills; --},
			q{1; DROP TABLE bills},
			q{NULL) ; DROP SCHEMA public CASCADE; --},
			q{'x'); DELETE FROM mig.migrations; --},
			q{1 $$; DROP TABLE bills; $$},
			q{*/ DROP TABLE bills; /*},
			q{1)) AS x; DROP TABLE bills; SELECT ((1},
			q{"; DROP TABLE bills; --},
			q{') ; TRUNCATE mig.steps; --},
			q{$mig$; DROP TABLE bills; $mig$},
			q{1 FROM pg_class; DROP TABLE bills; SELECT 1},
			q{(SELECT 1) ; COMMIT; DROP TABLE bills; --});
	}
	elsif ($k == 7)
	{
		# big or deeply nested expressions
		my $n = $rng->pick(100, 1000, 10_000, 100_000);
		return $rng->pick(('(' x $n) . '1' . (')' x $n), join('+', ('1') x $n),
			"'" . ('x' x ($n * 10)) . "'");
	}
	elsif ($k == 8)
	{
		return random_identifier($rng, $ctx);
	}
	return $rng->pick(@cols ? @cols : ('id'));
}

# A JSON value of a type different from $v's (undef: any).
sub wrong_type_value
{
	my ($rng, $v) = @_;
	my $r = ref $v;
	my $type =
	    !defined $v ? 'null'
	  : $r eq 'HASH' ? 'object'
	  : $r eq 'ARRAY' ? 'array'
	  : $r eq 'JSON::PP::Boolean' ? 'bool'
	  : $r eq 'MigFuzz::Raw' ? 'number'
	  : 'string';
	my @types = grep { $_ ne $type } qw(null object array bool number string);
	my $t = $rng->pick(@types);
	return undef if $t eq 'null';
	return $rng->pick({}, { x => 1 }, { name => 'x' }) if $t eq 'object';
	return $rng->pick([], [1], ['a', 'b'], [undef], [ {} ]) if $t eq 'array';
	return $rng->pick(json_true(), json_false()) if $t eq 'bool';
	return MigFuzz::Raw->new(
		$rng->pick('0', '-1', '1', '1.5', '1e308', '2147483648', '-0',
			'99999999999999999999999', '1e-400', '3'))
	  if $t eq 'number';
	return $rng->pick('', 'x', 'true', '1', 'null', '{}', '[]');
}

sub deep_value
{
	my ($rng) = @_;
	my $n = $rng->pick(100, 1000, 3000, 10_000, 100_000);
	my $kind = $rng->int(3);
	return MigFuzz::Raw->new(('[' x $n) . '1' . (']' x $n)) if $kind == 0;
	return MigFuzz::Raw->new(('{"a":' x $n) . '1' . ('}' x $n)) if $kind == 1;
	return MigFuzz::Raw->new(('[{"name":' x $n) . '"x"' . ('}]' x $n));
}

###########################################################################
# Mutations of a document
###########################################################################

# Every place in the tree under $root: [container, key or index, value].
sub slots
{
	my ($node, $out, $path) = @_;
	$out //= [];
	$path //= '';
	if (ref $node eq 'HASH')
	{
		for my $k (sort keys %$node)
		{
			push @$out, [ $node, $k, "$path.$k" ];
			slots($node->{$k}, $out, "$path.$k");
		}
	}
	elsif (ref $node eq 'ARRAY')
	{
		for my $i (0 .. $#$node)
		{
			push @$out, [ $node, $i, "$path\[$i]" ];
			slots($node->[$i], $out, "$path\[$i]");
		}
	}
	return $out;
}

sub slot_get { my ($s) = @_; return ref $s->[0] eq 'HASH' ? $s->[0]{ $s->[1] } : $s->[0][ $s->[1] ]; }

sub slot_set
{
	my ($s, $v) = @_;
	if (ref $s->[0] eq 'HASH') { $s->[0]{ $s->[1] } = $v; }
	else { $s->[0][ $s->[1] ] = $v; }
	return;
}

my %IDENT_KEY = map { $_ => 1 } qw(name table column from to index);
my %EXPR_KEY = map { $_ => 1 } qw(up down check constraint default predicate
  elements storage_parameters comment);
my @OPS = qw(create_table rename_table drop_table add_column drop_column
  alter_column rename_column create_index drop_index create_constraint
  drop_constraint drop_multicolumn_constraint rename_constraint
  set_replica_identity sql);

# Each mutation changes $state->{doc} (and may change name/schema) and
# returns a description.
my @MUTATIONS = (
	[ drop_key => 6, sub {
		my ($rng, $st) = @_;
		my @s = grep { ref $_->[0] eq 'HASH' } @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		delete $s->[0]{ $s->[1] };
		return "drop $s->[2]";
	} ],
	[ wrong_type => 6, sub {
		my ($rng, $st) = @_;
		my @s = @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		my $v = wrong_type_value($rng, slot_get($s));
		slot_set($s, $v);
		return "wrong type at $s->[2]";
	} ],
	[ huge_string => 2, sub {
		my ($rng, $st) = @_;
		my @s = @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		my $n = $rng->pick(64, 100, 10_000, 100_000, $st->{huge_max});
		slot_set($s, $rng->pick('x', "\x{e9}", 'a"') x $n);
		return "huge string ($n) at $s->[2]";
	} ],
	[ deep_nesting => 2, sub {
		my ($rng, $st) = @_;
		my @s = @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		slot_set($s, deep_value($rng));
		return "deep nesting at $s->[2]";
	} ],
	[ unknown_operation => 2, sub {
		my ($rng, $st) = @_;
		my $ops = $st->{doc}{operations};
		return undef unless ref $ops eq 'ARRAY' && @$ops;
		my $i = $rng->int(scalar @$ops);
		my $op = $ops->[$i];
		return undef unless ref $op eq 'HASH' && %$op;
		my ($name) = sort keys %$op;
		my $new = $rng->pick('create_tabl', 'CREATE_TABLE', '', '__proto__',
			'drop_view', 'create_table ', 'alter_columns', 'sql2', 'constructor',
			random_identifier($rng, $st->{ctx}));
		if ($rng->chance(0.5))
		{
			$op->{$new} = delete $op->{$name};
			return "operation $i renamed to \"$new\"";
		}
		$op->{ $rng->pick(@OPS, $new) } = deep_copy($op->{$name});
		return "operation $i given a second key";
	} ],
	[ unknown_key => 3, sub {
		my ($rng, $st) = @_;
		my @h = grep { ref slot_get($_) eq 'HASH' } @{ slots($st->{doc}) };
		my $target = @h ? slot_get($rng->pick(@h)) : $st->{doc};
		return undef unless ref $target eq 'HASH';
		my $k = $rng->pick('extra', 'Name', 'name ', 'pk', 'up', 'down', 'nullable',
			'unique', 'references', 'check', 'default', 'comment', 'type',
			'generated', 'onComplete', 'version_schema', 'operations',
			random_identifier($rng, $st->{ctx}));
		$target->{$k} = $rng->chance(0.5) ? wrong_type_value($rng, undef)
		  : random_expression($rng, $st->{ctx});
		return "key \"$k\" added";
	} ],
	[ random_identifier => 8, sub {
		my ($rng, $st) = @_;
		my @s = grep { $IDENT_KEY{ $_->[1] } || (ref $_->[0] eq 'ARRAY' && !ref slot_get($_)) }
		  @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		slot_set($s, random_identifier($rng, $st->{ctx}));
		return "random identifier at $s->[2]";
	} ],
	[ random_expression => 8, sub {
		my ($rng, $st) = @_;
		my @s = grep { $EXPR_KEY{ $_->[1] } } @{ slots($st->{doc}) };
		my $s;
		if (@s && $rng->chance(0.8))
		{
			$s = $rng->pick(@s);
		}
		else
		{
			# add one to an operation body
			my $ops = $st->{doc}{operations};
			return undef unless ref $ops eq 'ARRAY' && @$ops;
			my $op = $rng->pick(@$ops);
			return undef unless ref $op eq 'HASH';
			my ($body) = grep { ref $_ eq 'HASH' } values %$op;
			return undef unless $body;
			$s = [ $body, $rng->pick(qw(up down check default)), '(added)' ];
		}
		slot_set($s, random_expression($rng, $st->{ctx}));
		return "random expression at $s->[2]";
	} ],
	[ random_type => 4, sub {
		my ($rng, $st) = @_;
		my @s = grep { $_->[1] eq 'type' } @{ slots($st->{doc}) };
		return undef unless @s;
		my $s = $rng->pick(@s);
		slot_set($s, random_type($rng, $st->{ctx}));
		return "random type at $s->[2]";
	} ],
	[ duplicate_operation => 2, sub {
		my ($rng, $st) = @_;
		my $ops = $st->{doc}{operations};
		return undef unless ref $ops eq 'ARRAY' && @$ops;
		my $i = $rng->int(scalar @$ops);
		splice(@$ops, $rng->int(@$ops + 1), 0, deep_copy($ops->[$i]));
		return "operation $i duplicated";
	} ],
	[ swap_operation => 3, sub {
		my ($rng, $st) = @_;
		my $ops = $st->{doc}{operations};
		return undef unless ref $ops eq 'ARRAY';
		my $other = $rng->pick(@{ $st->{corpus} });
		my $oops = $other->{doc}{operations};
		my $op = deep_copy($oops->[ $rng->int(scalar @$oops) ]);
		if (@$ops && $rng->chance(0.5))
		{
			$ops->[ $rng->int(scalar @$ops) ] = $op;
			return "an operation replaced by one of $other->{name}";
		}
		splice(@$ops, $rng->int(@$ops + 1), 0, $op);
		return "an operation of $other->{name} inserted";
	} ],
	[ shuffle_operations => 1, sub {
		my ($rng, $st) = @_;
		my $ops = $st->{doc}{operations};
		return undef unless ref $ops eq 'ARRAY' && @$ops > 1;
		@$ops = $rng->shuffle(@$ops);
		return 'operations shuffled';
	} ],
	[ no_operations => 1, sub {
		my ($rng, $st) = @_;
		my $k = $rng->int(4);
		if ($k == 0) { $st->{doc}{operations} = []; return 'empty operations'; }
		if ($k == 1) { delete $st->{doc}{operations}; return 'no operations key'; }
		if ($k == 2) { $st->{doc}{operations} = [ {} ]; return 'an empty operation'; }
		$st->{doc}{operations} = [ undef, json_true(), 'create_table', 1 ];
		return 'operations that are not objects';
	} ],
	[ not_object => 1, sub {
		my ($rng, $st) = @_;
		$st->{doc} = $rng->pick([], [ $st->{doc} ], 'x', MigFuzz::Raw->new('1'),
			undef, json_true(), $st->{doc}{operations} // []);
		return 'top level not an object';
	} ],
	[ version_schema => 2, sub {
		my ($rng, $st) = @_;
		$st->{doc}{version_schema} = $rng->chance(0.8)
		  ? random_identifier($rng, $st->{ctx}) : wrong_type_value($rng, 'x');
		return 'random version_schema';
	} ],
	[ name_argument => 2, sub {
		my ($rng, $st) = @_;
		$st->{name} = $rng->chance(0.1) ? undef : random_identifier($rng, $st->{ctx});
		return 'random migration name';
	} ],
	[ schema_argument => 1, sub {
		my ($rng, $st) = @_;
		$st->{schema} = $rng->pick(undef, 'nonexistent', 'mig', 'pg_catalog',
			'information_schema', 'pg_toast', '', 'a' x 64, 'Public',
			'public_01_create_tables', random_identifier($rng, $st->{ctx}));
		return 'odd schema argument';
	} ],
);

my $MUTATION_WEIGHT = 0;
$MUTATION_WEIGHT += $_->[1] for @MUTATIONS;

###########################################################################
# Documents generated from the current schema
###########################################################################

# In generated documents, an expression that usually compiles (a column
# of the table, NULL, a constant), else a random one.
sub gen_expression
{
	my ($rng, $ctx) = @_;
	return random_expression($rng, $ctx) if $rng->chance(0.35);
	my @cols = @{ $ctx->{columns} // [] };
	my $c = @cols ? $rng->pick(@cols) : 'id';
	my $qc = '"' . ($c =~ s/"/""/gr) . '"';
	return $rng->pick($qc, $qc, 'NULL', "$qc IS NOT NULL", "length(${qc}::text) > 0",
		"SELECT CASE WHEN $qc IS NULL THEN NULL ELSE $qc END", '1', "'x'");
}

sub gen_column
{
	my ($rng, $ctx, %p) = @_;
	my %c = (
		name => $rng->chance(0.8) ? 'c_' . $rng->int(1000)
		  : random_identifier($rng, $ctx),
		type => $rng->chance(0.7)
		  ? $rng->pick('int', 'text', 'bigint', 'varchar(10)', 'boolean', 'serial',
			'timestamptz', 'numeric(5,1)', 'integer[]', 'uuid')
		  : random_type($rng, $ctx));
	$c{nullable} = $rng->chance(0.5) ? json_true() : json_false()
	  if $rng->chance(0.5);
	$c{default} = gen_expression($rng, $ctx) if $rng->chance(0.3);
	$c{unique} = json_true() if $rng->chance(0.15);
	$c{pk} = json_true() if $rng->chance($p{pk} // 0.1);
	$c{comment} = $rng->chance(0.8) ? 'a comment' : undef if $rng->chance(0.15);
	$c{check} = { name => 'chk_' . $rng->int(1000), constraint => gen_expression($rng, $ctx) }
	  if $rng->chance(0.15);
	if ($rng->chance(0.1) && @{ $ctx->{tables} })
	{
		my $t = $rng->pick(@{ $ctx->{tables} });
		$c{references} = {
			name => 'fk_' . $rng->int(1000),
			table => $t->{name},
			column => $rng->pick((map { $_->{name} } @{ $t->{columns} }), q{id}),
			($rng->chance(0.3) ? (on_delete => $rng->pick('CASCADE', 'SET NULL', 'RESTRICT', 'NO ACTION', 'bogus')) : ()),
		};
	}
	$c{generated} = { identity => { user_specified_values => $rng->pick('BY DEFAULT', 'ALWAYS', 'x') } }
	  if $rng->chance(0.03);
	return \%c;
}

sub gen_operation
{
	my ($rng, $ctx) = @_;
	my @tables = @{ $ctx->{tables} };
	my $t = @tables ? $rng->pick(@tables) : { name => 'bills', columns => [], constraints => [], indexes => [] };
	my @cols = map { $_->{name} } @{ $t->{columns} };
	push @cols, 'id' unless @cols;
	my $col = $rng->pick(@cols);
	local $ctx->{columns} = \@cols;
	my $op = $rng->pick(qw(add_column add_column drop_column rename_column
	  alter_column alter_column alter_column create_table rename_table drop_table
	  create_index drop_index create_constraint drop_constraint
	  drop_multicolumn_constraint rename_constraint set_replica_identity sql));
	my $maybe = sub { my ($p, @kv) = @_; return $rng->chance($p) ? @kv : (); };
	if ($op eq 'add_column')
	{
		return { add_column => { table => $t->{name}, column => gen_column($rng, $ctx),
			$maybe->(0.4, up => gen_expression($rng, $ctx)) } };
	}
	if ($op eq 'drop_column')
	{
		return { drop_column => { table => $t->{name}, column => $col,
			$maybe->(0.5, down => gen_expression($rng, $ctx)) } };
	}
	if ($op eq 'rename_column')
	{
		return { rename_column => { table => $t->{name}, from => $col,
			to => $rng->chance(0.7) ? "r_$col" : random_identifier($rng, $ctx) } };
	}
	if ($op eq 'alter_column')
	{
		my %b = (table => $t->{name}, column => $col);
		my @opts = $rng->shuffle(qw(type nullable default comment check unique references name));
		for my $o (@opts[ 0 .. $rng->int(3) ])
		{
			$b{type} = $rng->chance(0.7) ? $rng->pick('text', 'int', 'bigint', 'varchar(5)', 'numeric', 'boolean', 'integer[]') : random_type($rng, $ctx) if $o eq 'type';
			$b{nullable} = $rng->pick(json_true(), json_false()) if $o eq 'nullable';
			$b{default} = $rng->chance(0.2) ? undef : gen_expression($rng, $ctx) if $o eq 'default';
			$b{comment} = $rng->chance(0.3) ? undef : 'c' if $o eq 'comment';
			$b{check} = { name => 'chk_' . $rng->int(1000), constraint => gen_expression($rng, $ctx) } if $o eq 'check';
			$b{unique} = { name => 'uq_' . $rng->int(1000) } if $o eq 'unique';
			if ($o eq 'references')
			{
				my $rt = @tables ? $rng->pick(@tables) : $t;
				$b{references} = { name => 'fk_' . $rng->int(1000), table => $rt->{name},
					column => $rng->pick((map { $_->{name} } @{ $rt->{columns} }), 'id') };
			}
			$b{name} = "n_$col" if $o eq 'name';
		}
		$b{up} = gen_expression($rng, $ctx) if $rng->chance(0.7);
		$b{down} = gen_expression($rng, $ctx) if $rng->chance(0.7);
		return { alter_column => \%b };
	}
	if ($op eq 'create_table')
	{
		my @c = map { gen_column($rng, $ctx, pk => 0.2) } 0 .. $rng->int(4);
		my %b = (name => $rng->chance(0.8) ? 't_' . $rng->int(1000) : random_identifier($rng, $ctx), columns => \@c);
		$b{comment} = 'a table' if $rng->chance(0.1);
		if ($rng->chance(0.3))
		{
			my @names = map { $_->{name} } @c;
			$b{constraints} = [ {
				name => 'tc_' . $rng->int(1000),
				type => $rng->pick('primary_key', 'unique', 'check', 'foreign_key', 'exclude', 'bogus'),
				columns => [ $rng->pick(@names) ],
				$maybe->(0.5, check => gen_expression($rng, $ctx)),
				$maybe->(0.3, references => { table => $t->{name}, columns => [$col] }),
			} ];
		}
		return { create_table => \%b };
	}
	if ($op eq 'rename_table')
	{
		return { rename_table => { from => $t->{name},
			to => $rng->chance(0.7) ? "r_$t->{name}" : random_identifier($rng, $ctx) } };
	}
	return { drop_table => { name => $t->{name} } } if $op eq 'drop_table';
	if ($op eq 'create_index')
	{
		return { create_index => {
			name => $rng->chance(0.8) ? 'ix_' . $rng->int(1000) : random_identifier($rng, $ctx),
			table => $t->{name},
			columns => [ map { { column => $rng->pick(@cols), $maybe->(0.2, sort => $rng->pick('ASC', 'DESC', 'x')) } } 0 .. $rng->int(2) ],
			$maybe->(0.2, unique => json_true()),
			$maybe->(0.2, method => $rng->pick('btree', 'hash', 'gin', 'gist', 'brin', 'bogus')),
			$maybe->(0.2, predicate => gen_expression($rng, $ctx)),
			$maybe->(0.1, storage_parameters => $rng->pick('fillfactor = 70', 'bogus = 1', 'fillfactor = 101', ')')),
		} };
	}
	if ($op eq 'drop_index')
	{
		my @ix = @{ $t->{indexes} };
		return { drop_index => { name => @ix ? $rng->pick(@ix) : random_identifier($rng, $ctx) } };
	}
	if ($op eq 'create_constraint')
	{
		my $type = $rng->pick('unique', 'check', 'foreign_key', 'primary_key', 'bogus');
		my @cc = ($col);
		push @cc, $rng->pick(@cols) if $rng->chance(0.3);
		my %b = (type => $type, table => $t->{name}, name => 'cc_' . $rng->int(1000), columns => \@cc);
		$b{check} = gen_expression($rng, $ctx) if $type eq 'check' || $rng->chance(0.1);
		if ($type eq 'foreign_key' || $rng->chance(0.1))
		{
			my $rt = @tables ? $rng->pick(@tables) : $t;
			$b{references} = { table => $rt->{name}, columns => [ $rng->pick((map { $_->{name} } @{ $rt->{columns} }), 'id') ] };
		}
		$b{up} = { map { $_ => gen_expression($rng, $ctx) } @cc } if $rng->chance(0.7);
		$b{down} = { map { $_ => gen_expression($rng, $ctx) } @cc } if $rng->chance(0.7);
		return { create_constraint => \%b };
	}
	if ($op eq 'drop_constraint' || $op eq 'drop_multicolumn_constraint' || $op eq 'rename_constraint')
	{
		my @con = @{ $t->{constraints} };
		my $name = @con ? $rng->pick(@con) : random_identifier($rng, $ctx);
		return { rename_constraint => { table => $t->{name}, from => $name, to => "r_$name" } }
		  if $op eq 'rename_constraint';
		if ($op eq 'drop_constraint')
		{
			return { drop_constraint => { table => $t->{name}, name => $name,
				$maybe->(0.7, up => gen_expression($rng, $ctx)),
				$maybe->(0.7, down => gen_expression($rng, $ctx)) } };
		}
		return { drop_multicolumn_constraint => { table => $t->{name}, name => $name,
			up => { map { $_ => gen_expression($rng, $ctx) } @cols[ 0 .. $rng->int(scalar @cols) ] },
			down => { map { $_ => gen_expression($rng, $ctx) } @cols[ 0 .. $rng->int(scalar @cols) ] } } };
	}
	if ($op eq 'set_replica_identity')
	{
		my $type = $rng->pick('default', 'full', 'nothing', 'index', 'bogus');
		my @ix = @{ $t->{indexes} };
		return { set_replica_identity => { table => $t->{name}, identity => { type => $type,
			($type eq 'index' ? (index => @ix ? $rng->pick(@ix) : 'nonexistent') : ()) } } };
	}
	# sql: raw SQL, with or without down
	return { sql => { up => $rng->pick('SELECT 1', "CREATE TABLE sql_$col (a int)", gen_expression($rng, $ctx)),
		$maybe->(0.5, down => $rng->pick('SELECT 1', "DROP TABLE sql_$col")),
		$maybe->(0.2, onComplete => json_true()) } };
}

###########################################################################
# One mutant
###########################################################################

# The context of step k: the corpus, the current schema (tables with their
# columns, constraints and indexes) and every name in it.
sub make_context
{
	my ($corpus, $schema_json) = @_;
	my @tables;
	my %names;
	my $tabs = ($schema_json // {})->{tables} // {};
	for my $tn (sort keys %$tabs)
	{
		my $t = $tabs->{$tn};
		my @cols = map { { name => $_->{name}, type => $_->{type} } } @{ $t->{columns} // [] };
		my @cons = sort keys %{ $t->{constraints} // {} };
		my @ix = sort keys %{ $t->{indexes} // {} };
		push @tables, { name => $tn, columns => \@cols, constraints => \@cons, indexes => \@ix };
		$names{$_} = 1 for $tn, (map { $_->{name} } @cols), @cons, @ix;
	}
	return {
		corpus => $corpus,
		tables => \@tables,
		names => [ sort keys %names ],
		columns => [ sort map { $_->{name} } map { @{ $_->{columns} } } @tables ],
	};
}

# Mutant i of step k: a hash with id, kind, name (the first argument of
# mig.start, undef for NULL), schema (undef for NULL), doc (UTF-8 JSON
# text), strict ('on'/'off'), has_sql and a description.
sub make_mutant
{
	my (%p) = @_;
	my ($seed, $k, $i, $ctx) = @p{qw(seed step index context)};
	my $corpus = $ctx->{corpus};
	my $rng = MigFuzz::Rng->new($seed, $k, $i);
	my $base = $corpus->[$k];
	my %st = (
		doc => deep_copy($base->{doc}),
		name => $base->{name},
		schema => 'public',
		ctx => $ctx,
		corpus => $corpus,
		huge_max => $p{huge_max} // 100_000,
	);
	my @desc;
	my $kind;
	if ($rng->chance($p{generated_share} // 0.4))
	{
		$kind = 'generated';
		my @ops = map { gen_operation($rng, $ctx) } 0 .. $rng->int(3);
		$st{doc} = { operations => \@ops };
		push @desc, 'generated: ' . join(', ', map { (keys %$_)[0] } @ops);
		# sometimes mutate the generated document too
		if ($rng->chance(0.2))
		{
			push @desc, apply_mutations($rng, \%st, 1);
		}
	}
	else
	{
		$kind = 'mutated';
		push @desc, "mutated $base->{name}";
		push @desc, apply_mutations($rng, \%st, 1 + $rng->int(3));
	}
	return {
		id => "$seed/$k/$i",
		kind => $kind,
		name => $st{name},
		schema => $st{schema},
		doc => encode_doc($st{doc}),
		strict => $rng->chance(0.7) ? 'on' : 'off',
		has_sql => doc_has_sql_op($st{doc}),
		committed => $rng->chance($p{committed_share} // 0.15),
		description => join('; ', grep { defined } @desc),
	};
}

sub apply_mutations
{
	my ($rng, $st, $n) = @_;
	my @desc;
	for (1 .. $n)
	{
		for my $attempt (1 .. 5)
		{
			my $w = $rng->int($MUTATION_WEIGHT);
			my $m;
			for (@MUTATIONS)
			{
				$m = $_;
				last if ($w -= $_->[1]) < 0;
			}
			next if ref $st->{doc} ne 'HASH' && $m->[0] ne 'name_argument' && $m->[0] ne 'schema_argument';
			my $d = $m->[2]->($rng, $st);
			if (defined $d) { push @desc, $d; last; }
		}
	}
	return @desc;
}

###########################################################################
# A psql session driven through IPC::Run
###########################################################################

package MigFuzz::Psql;

sub new
{
	my ($class, %p) = @_;
	my $self = bless { %p, in => '', out => '', err => '', n => 0 }, $class;
	$self->{timer} = IPC::Run::timer(60);
	my @cmd = ($p{psql} // 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0',
		'-h', $p{host}, '-p', $p{port}, '-d', $p{dbname},
		(defined $p{user} ? ('-U', $p{user}) : ()));
	$self->{h} = IPC::Run::start(\@cmd, '<', \$self->{in}, '>', \$self->{out},
		'2>', \$self->{err}, $self->{timer});
	my $r = $self->query('SELECT pg_backend_pid()', 30);
	die "cannot connect to $p{dbname}: $r->{err}" if $r->{dead} || $r->{out} !~ /^(\d+)$/;
	$self->{pid} = $1;
	return $self;
}

# Runs $sql (one or more statements).  Returns { out, err, dead, timeout }.
sub query
{
	my ($self, $sql, $timeout) = @_;
	my $marker = '__MIGFUZZ_DONE_' . ++$self->{n} . '__';
	$self->{out} = '';
	$self->{err} = '';
	$self->{in} .= "$sql\n;\n\\echo $marker\n";
	$self->{timer}->start($timeout // 120);
	my ($dead, $timedout) = (0, 0);
	while ($self->{out} !~ /^\Q$marker\E$/m)
	{
		if (!$self->{h}->pumpable)
		{
			$dead = 1;
			last;
		}
		if ($self->{timer}->is_expired)
		{
			$timedout = 1;
			last;
		}
		eval { $self->{h}->pump_nb; 1 } or do { $dead = 1; last; };
		Time::HiRes::sleep(0.001) if $self->{out} !~ /^\Q$marker\E$/m;
	}
	$self->{timer}->reset;
	(my $out = $self->{out}) =~ s/^\Q$marker\E\n?//m;
	$out =~ s/\n\z//;
	my $r = { out => $out, err => $self->{err}, dead => $dead, timeout => $timedout };
	if ($dead || $timedout)
	{
		$self->kill;
	}
	return $r;
}

sub kill
{
	my ($self) = @_;
	return unless $self->{h};
	eval { $self->{h}->kill_kill(grace => 2); };
	undef $self->{h};
	return;
}

sub close
{
	my ($self) = @_;
	return unless $self->{h};
	$self->{in} .= "\\q\n";
	eval { $self->{h}->finish; };
	undef $self->{h};
	return;
}

sub DESTROY { my ($self) = @_; $self->kill; }

package MigFuzz;

###########################################################################
# SQL helpers installed in the fuzzed database
###########################################################################

our $HARNESS_SQL = <<'SQL';
CREATE SCHEMA fuzz_harness;
CREATE TABLE fuzz_harness.baseline (line text);

-- The fingerprint: one line per object, by name.
CREATE FUNCTION fuzz_harness.fp(target name) RETURNS SETOF text
LANGUAGE sql SET search_path = pg_catalog AS $fp$
	WITH ns AS (
		SELECT oid, nspname FROM pg_namespace
		WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'fuzz_harness')
		  AND nspname !~ '^pg_(toast_)?temp_'
	), rel AS (
		SELECT c.*, ns.nspname FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
	)
	SELECT format('nsp %I owner=%s acl=%s comment=%s', nspname,
		(SELECT nspowner::regrole FROM pg_namespace n WHERE n.oid = ns.oid),
		(SELECT nspacl FROM pg_namespace n WHERE n.oid = ns.oid),
		obj_description(ns.oid, 'pg_namespace')) FROM ns
	UNION ALL
	SELECT format('rel %I.%I kind=%s persistence=%s replident=%s options=%s acl=%s owner=%s checks=%s rowsec=%s comment=%s',
		nspname, relname, relkind, relpersistence, relreplident, reloptions, relacl,
		relowner::regrole, relchecks, relrowsecurity, obj_description(oid, 'pg_class'))
	FROM rel
	UNION ALL
	SELECT format('att %I.%I.%I num=%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s comment=%s',
		r.nspname, r.relname, a.attname, a.attnum, format_type(a.atttypid, a.atttypmod),
		a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
		a.attcollation::regcollation, a.attacl, col_description(r.oid, a.attnum))
	FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
	LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	WHERE a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT format('con %s %I on %s type=%s def=%s validated=%s deferrable=%s comment=%s',
		coalesce(rel.nspname, (SELECT ns.nspname FROM ns WHERE ns.oid = co.connamespace)),
		co.conname, coalesce(co.conrelid::regclass::text, co.contypid::regtype::text),
		co.contype, pg_get_constraintdef(co.oid), co.convalidated, co.condeferrable,
		obj_description(co.oid, 'pg_constraint'))
	FROM pg_constraint co LEFT JOIN rel ON rel.oid = co.conrelid
	WHERE co.connamespace IN (SELECT oid FROM ns)
	UNION ALL
	SELECT format('idx %I.%I valid=%s ready=%s live=%s replident=%s clustered=%s def=%s',
		r.nspname, r.relname, i.indisvalid, i.indisready, i.indislive, i.indisreplident,
		i.indisclustered, pg_get_indexdef(i.indexrelid))
	FROM pg_index i JOIN rel r ON r.oid = i.indexrelid
	UNION ALL
	SELECT format('trg %I.%I %s enabled=%s func=%s type=%s',
		r.nspname, r.relname,
		CASE WHEN t.tgisinternal
			 THEN 'internal for ' || coalesce((SELECT conname FROM pg_constraint WHERE oid = t.tgconstraint)::text, '?')
			 ELSE t.tgname::text END,
		t.tgenabled, t.tgfoid::regproc, t.tgtype)
	FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
	UNION ALL
	SELECT format('type %I.%I type=%s labels=%s', ns.nspname, t.typname, t.typtype,
		(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
	FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
	UNION ALL
	SELECT format('proc %s kind=%s src=%s acl=%s', p.oid::regprocedure, p.prokind, md5(p.prosrc), p.proacl)
	FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
	UNION ALL
	SELECT format('view %I.%I %s', r.nspname, r.relname, md5(pg_get_viewdef(r.oid)))
	FROM rel r WHERE r.relkind IN ('v', 'm')
	UNION ALL
	SELECT format('ext %s %s config=%s', e.extname, e.extversion,
		(SELECT array_agg(c::regclass::text ORDER BY 1) FROM unnest(e.extconfig) c))
	FROM pg_extension e
	UNION ALL
	SELECT format('dep %s -> %s %s', pg_describe_object(d.classid, d.objid, d.objsubid),
		pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), d.deptype)
	FROM pg_depend d
	WHERE (d.objid >= 16384 OR d.refobjid >= 16384)
	  AND d.deptype <> 'p'
	  AND NOT (d.classid = 'pg_class'::regclass AND EXISTS (
			SELECT 1 FROM pg_class c WHERE c.oid = d.objid
			  AND c.relnamespace NOT IN (SELECT oid FROM ns)))
	  AND NOT (d.classid = 'pg_type'::regclass AND EXISTS (
			SELECT 1 FROM pg_type t WHERE t.oid = d.objid
			  AND t.typnamespace NOT IN (SELECT oid FROM ns)))
	  AND NOT (d.classid = 'pg_proc'::regclass AND EXISTS (
			SELECT 1 FROM pg_proc p WHERE p.oid = d.objid
			  AND p.pronamespace NOT IN (SELECT oid FROM ns)))
	  AND NOT (d.refclassid = 'pg_namespace'::regclass
	           AND d.refobjid = 'fuzz_harness'::regnamespace)
	  AND NOT (d.classid = 'pg_namespace'::regclass
	           AND d.objid = 'fuzz_harness'::regnamespace)
	UNION ALL
	SELECT 'mig.migrations ' || to_jsonb(m)::text FROM mig.migrations m
	UNION ALL
	SELECT 'mig.steps ' || to_jsonb(s)::text FROM mig.steps s
	UNION ALL
	SELECT 'mig.dual_writes ' || to_jsonb(w)::text FROM mig.dual_writes w
	UNION ALL
	SELECT 'mig.job_queue ' || to_jsonb(j)::text FROM mig.job_queue j
	UNION ALL
	SELECT 'mig.status ' || to_jsonb(s)::text FROM mig.status('public') s
	UNION ALL
	-- the schema the mutant names, when another one exists (left out of the
	-- digest that is compared with the baseline)
	SELECT 'mig.target_status ' || to_jsonb(s)::text
	FROM (SELECT target AS x WHERE target <> 'public'
		  AND EXISTS (SELECT 1 FROM ns WHERE ns.nspname = target)) t,
		 LATERAL mig.status(t.x) s
	UNION ALL
	SELECT format('guc %s=%s', g, current_setting(g, true))
	FROM unnest(ARRAY['search_path', 'lock_timeout', 'statement_timeout',
		'migrate_ext.version', 'role', 'session_authorization',
		'default_transaction_isolation', 'check_function_bodies']) g
$fp$;

CREATE FUNCTION fuzz_harness.lines(target name) RETURNS text[]
LANGUAGE sql AS $$
	SELECT array_agg(l ORDER BY l COLLATE "C") FROM fuzz_harness.fp(target) l
$$;

CREATE FUNCTION fuzz_harness.digest(lines text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT md5(array_to_string(lines, E'\n')) $$;

-- What changed from a to b, as {"missing": [...], "extra": [...]}, at most
-- 20 lines each.
CREATE FUNCTION fuzz_harness.diff(a text[], b text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object(
		'missing', (SELECT coalesce(jsonb_agg(l), '[]') FROM (
			SELECT l FROM (SELECT unnest(a) EXCEPT ALL SELECT unnest(b)) s(l) ORDER BY 1 LIMIT 20) x),
		'extra', (SELECT coalesce(jsonb_agg(l), '[]') FROM (
			SELECT l FROM (SELECT unnest(b) EXCEPT ALL SELECT unnest(a)) s(l) ORDER BY 1 LIMIT 20) x))
$$;

CREATE FUNCTION fuzz_harness.save_baseline() RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM fuzz_harness.baseline;
	INSERT INTO fuzz_harness.baseline SELECT unnest(fuzz_harness.lines('public'));
	RETURN fuzz_harness.digest(fuzz_harness.lines('public'));
END
$$;

CREATE FUNCTION fuzz_harness.baseline_diff(target name) RETURNS jsonb
LANGUAGE sql AS $$
	SELECT fuzz_harness.diff(
		(SELECT array_agg(line ORDER BY line COLLATE "C") FROM fuzz_harness.baseline),
		fuzz_harness.lines(target))
$$;

CREATE FUNCTION fuzz_harness.decode(b64 text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT convert_from(decode(b64, 'base64'), 'UTF8') $$;

-- On a started migration: read every relation of the new version and of
-- the old one, then write a row through each (DEFAULT VALUES, errors
-- other than internal ones are expected), and undo the writes.  Returns
-- the problems found: unreadable relations and internal errors.
CREATE FUNCTION fuzz_harness.exercise(p_schema name, new_version text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	problems jsonb := '[]';
	old_version text;
	rel record;
	st text;
	msg text;
	writes jsonb := '[]';
BEGIN
	old_version := coalesce(mig.previous_version(p_schema), p_schema::text);
	FOR rel IN
		SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname IN (new_version, old_version) AND c.relkind IN ('r', 'p', 'v')
		ORDER BY 1, 2 LIMIT 40
	LOOP
		BEGIN
			EXECUTE format('SELECT * FROM %I.%I LIMIT 1', rel.nspname, rel.relname);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			-- a row the backfill has not reached is refused through the new version
			IF NOT (st = '55000' AND msg LIKE '% is not ready') THEN
				problems := problems || jsonb_build_object('read', format('%I.%I', rel.nspname, rel.relname),
					'sqlstate', st, 'message', msg);
			END IF;
		END;
	END LOOP;
	BEGIN
		FOR rel IN
			SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname IN (new_version, old_version) AND c.relkind IN ('r', 'p', 'v')
			ORDER BY 1, 2 LIMIT 40
		LOOP
			BEGIN
				PERFORM set_config('search_path', quote_ident(rel.nspname), true);
				EXECUTE format('INSERT INTO %I.%I DEFAULT VALUES', rel.nspname, rel.relname);
				EXECUTE format('UPDATE %I.%I SET %I = %I', rel.nspname, rel.relname,
					(SELECT attname FROM pg_attribute WHERE attrelid = format('%I.%I', rel.nspname, rel.relname)::regclass
					 AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 1),
					(SELECT attname FROM pg_attribute WHERE attrelid = format('%I.%I', rel.nspname, rel.relname)::regclass
					 AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 1));
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				IF st LIKE 'XX%' OR msg ~* '(cache lookup failed|unrecognized node|invalid memory alloc|unexpected|should not happen)' THEN
					problems := problems || jsonb_build_object('write', format('%I.%I', rel.nspname, rel.relname),
						'sqlstate', st, 'message', msg);
				END IF;
			END;
		END LOOP;
		RAISE EXCEPTION USING ERRCODE = 'P0F01', MESSAGE = problems::text;
	EXCEPTION WHEN SQLSTATE 'P0F01' THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
		problems := msg::jsonb;
	END;
	RETURN problems;
END
$$;

-- One mutant, in the caller's transaction: fingerprint, start, (exercise,
-- rollback), fingerprint.  Returns a JSON object: outcome (bad_json,
-- error, ok, rollback_error), the error fields, the fingerprint digests
-- and what differs.
CREATE FUNCTION fuzz_harness.try(p_name text, p_doc text, p_schema name,
	p_strict text, p_exercise boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	before text[];
	after text[];
	doc jsonb;
	version text;
	outcome text;
	st text; msg text; det text; hnt text; ctx text;
	problems jsonb;
	res jsonb;
BEGIN
	PERFORM set_config('migrate_ext.strict_expressions', p_strict, true);
	before := fuzz_harness.lines(p_schema);
	BEGIN
		doc := p_doc::jsonb;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		RETURN jsonb_build_object('outcome', 'bad_json', 'sqlstate', st, 'message', msg,
			'before', fuzz_harness.digest(ARRAY(SELECT l FROM unnest(before) l
				WHERE l NOT LIKE 'mig.target\_status %')))::text;
	END;
	BEGIN
		version := mig.start(p_name, doc, p_schema);
		outcome := 'ok';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
			det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
		outcome := 'error';
	END;
	IF outcome = 'ok' THEN
		IF p_exercise THEN
			BEGIN
				problems := fuzz_harness.exercise(p_schema, version);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				problems := jsonb_build_array(jsonb_build_object('exercise', 'failed',
					'sqlstate', st, 'message', msg));
			END;
		END IF;
		BEGIN
			PERFORM mig.rollback(p_schema);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
				det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT;
			outcome := 'rollback_error';
		END;
	END IF;
	after := fuzz_harness.lines(p_schema);
	res := jsonb_build_object('outcome', outcome, 'version', version,
		'sqlstate', st, 'message', msg, 'detail', det, 'hint', hnt, 'context', ctx,
		'before', fuzz_harness.digest(ARRAY(SELECT l FROM unnest(before) l
			WHERE l NOT LIKE 'mig.target\_status %')),
		'after', fuzz_harness.digest(after),
		'problems', problems);
	IF before IS DISTINCT FROM after THEN
		res := res || jsonb_build_object('diff', fuzz_harness.diff(before, after));
	END IF;
	RETURN res::text;
END
$$;

-- The committed path, one call per transaction.
CREATE FUNCTION fuzz_harness.call(what text, p_name text, p_doc text,
	p_schema name, p_strict text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
	version text;
BEGIN
	PERFORM set_config('migrate_ext.strict_expressions', p_strict, true);
	BEGIN
		IF what = 'start' THEN
			version := mig.start(p_name, p_doc::jsonb, p_schema);
		ELSE
			version := mig.rollback(p_schema);
		END IF;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
			det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
		RETURN jsonb_build_object('outcome', 'error', 'sqlstate', st, 'message', msg,
			'detail', det, 'hint', hnt)::text;
	END;
	RETURN jsonb_build_object('outcome', 'ok', 'version', version)::text;
END
$$;
SQL

###########################################################################
# Classification
###########################################################################

# Messages that betray an internal error whatever their SQLSTATE (matched
# with the quoted parts of the message, which echo the document, removed).
our $INTERNAL_RE = qr/cache lookup failed|unrecognized node type|invalid memory alloc request size|
  unexpected\s+(?:null|end|node|object|type|value)|should\s+not\s+happen|unrecognized\s+\w+\s+type|
  could\s+not\s+find\s+(?:tuple|trigger|block)|tuple\s+concurrently|no\s+relation\s+entry|
  variable\s+not\s+found|leak|\bTRAP\b|failed\s+assertion|unknown\s+(?:node|step)|
  unrecognized\s+(?:step|kind|phase)/xi;

# undef (a clear error) or the failure class of an error result: an
# internal error (SQLSTATE XX000 and its class, or a message that betrays
# one), an unclear one (no SQLSTATE, an empty or very short message), a
# statement timeout (a hang).
sub classify_error
{
	my ($r) = @_;
	my $st = $r->{sqlstate} // '';
	my $msg = $r->{message} // '';
	(my $unquoted = substr($msg, 0, 20_000)) =~ s/"[^"]*"//g;
	return 'internal_error' if $st =~ /^XX/;
	return 'internal_error' if $unquoted =~ $INTERNAL_RE;
	return 'timeout' if $st eq '57014';
	return 'unclear_error' if $msg !~ /\w{3}/ || length($msg) < 10 || $st !~ /^[0-9A-Z]{5}\z/ || $st eq '00000';
	return undef;
}

sub b64 { my ($s) = @_; return defined $s ? "'" . encode_base64($s, '') . "'" : 'NULL'; }

sub sql_b64_text
{
	my ($s) = @_;
	return 'NULL::text' unless defined $s;
	my $b = Encode::encode('UTF-8', $s);
	return "fuzz_harness.decode('" . encode_base64($b, '') . "')";
}

sub sql_b64_bytes
{
	my ($b) = @_;
	return "fuzz_harness.decode('" . encode_base64($b, '') . "')";
}

sub truncate_text
{
	my ($s, $n) = @_;
	$n //= 2000;
	return $s if length($s) <= $n;
	return substr($s, 0, $n) . sprintf('... (%d bytes in all)', length($s));
}

###########################################################################
# The run
###########################################################################

# run(%options) walks the corpus, feeding mutants, and returns a summary:
#   { mutants => N, outcomes => {outcome => count}, sqlstates => {state => count},
#     failures => [ { class, mutant, result... } ], elapsed => seconds }
# Options:
#   host, port, user, psql       how to reach the server
#   logfile                      the server log (to explain crashes)
#   dbname                       the database to create (dropped first)
#   corpus                       MigFuzz::load_corpus(dir)
#   seed, count                  total number of mutants, spread over the steps
#   committed_share              share of mutants also tried committed
#   exercise                     read and write through started versions
#   max_crashes                  stop after this many crashes (0: never)
#   max_failures                 stop after this many failures (0: never)
#   huge_max                     the longest huge string
#   progress                     sub(\%state) called after each step
#   on_failure                   sub(\%failure) called on each failure
sub run
{
	my (%o) = @_;
	my $self = bless { %o }, 'MigFuzz::Runner';
	return $self->run;
}

package MigFuzz::Runner;

use Time::HiRes qw(time sleep);

# A session; waits (up to 2 minutes) while the server restarts after a
# crash.
sub connect
{
	my ($self, $db) = @_;
	my $s;
	for my $attempt (1 .. 240)
	{
		$s = eval {
			MigFuzz::Psql->new(psql => $self->{psql}, host => $self->{host},
				port => $self->{port}, user => $self->{user}, dbname => $db // $self->{dbname});
		};
		last if $s;
		die $@ if $@ !~ /recovery mode|starting up|shutting down|No such file|Connection refused|not yet accepting/
		  || $attempt == 240;
		sleep 0.5;
	}
	my $r = $s->query(q{SET client_min_messages = warning; SET statement_timeout = '120s';
SET application_name = 'migfuzz'; SET lc_messages = 'C';});
	return $s;
}

sub must
{
	my ($self, $s, $sql, $what) = @_;
	my $r = $s->query($sql, 300);
	if ($r->{dead} || $r->{timeout} || $r->{err} =~ /^(?:psql:.*)?(?:ERROR|FATAL|PANIC):/m)
	{
		die "$what failed: " . ($r->{dead} ? 'connection lost; ' : '')
		  . ($r->{timeout} ? 'timed out; ' : '') . $r->{err};
	}
	return $r->{out};
}

sub wait_ready
{
	my ($self) = @_;
	# the postmaster may not have noticed the crash yet
	sleep 2;
	my $s = $self->connect('postgres');
	$s->close;
	return 1;
}

# A fresh database with documents 0..k-1 applied.
sub rebuild
{
	my ($self, $k) = @_;
	$self->{s}->kill if $self->{s};
	my $admin = $self->connect('postgres');
	$self->must($admin, qq{DROP DATABASE IF EXISTS "$self->{dbname}" WITH (FORCE)}, 'drop database');
	$self->must($admin, qq{CREATE DATABASE "$self->{dbname}"}, 'create database');
	$admin->close;
	my $s = $self->{s} = $self->connect;
	$self->must($s, 'CREATE EXTENSION migrate_ext', 'create extension');
	$self->must($s, $MigFuzz::HARNESS_SQL, 'installing the harness');
	$self->apply($_) for 0 .. $k - 1;
	$self->baseline;
	return;
}

# Apply corpus document i for real.
sub apply
{
	my ($self, $i) = @_;
	my $m = $self->{corpus}[$i];
	my $s = $self->{s};
	my $name = MigFuzz::sql_b64_text($m->{name});
	my $doc = MigFuzz::sql_b64_bytes($m->{text});
	$self->must($s, "SET migrate_ext.strict_expressions = off; SELECT mig.start($name, ${doc}::jsonb);",
		"start of $m->{name}");
	$self->must($s, q{CALL mig.wait('public', '2 min');}, "wait for $m->{name}");
	$self->must($s, q{SELECT mig.complete();}, "complete of $m->{name}");
	$self->must($s, 'RESET migrate_ext.strict_expressions', 'reset');
	# complete may queue jobs (drop_index) that a worker runs: let them
	# finish, so that nothing changes under the fingerprints
	for (1 .. 600)
	{
		my $n = $self->must($s, q{SELECT count(*) FROM mig.job_queue WHERE state NOT IN ('done', 'failed')}, 'jobs');
		last if $n eq '0';
		sleep 0.1;
	}
	return;
}

sub baseline
{
	my ($self) = @_;
	my $s = $self->{s};
	$self->{baseline} = $self->must($s, 'SELECT fuzz_harness.save_baseline()', 'baseline');
	my $schema = $self->must($s, q{SELECT mig.read_schema('public')}, 'read schema');
	$self->{schema} = JSON::PP->new->decode($schema);
	return;
}

sub log_size
{
	my ($self) = @_;
	return 0 unless $self->{logfile};
	return -s $self->{logfile} // 0;
}

sub log_since
{
	my ($self, $offset) = @_;
	return '' unless $self->{logfile} && open(my $fh, '<', $self->{logfile});
	seek($fh, $offset, 0);
	local $/;
	my $t = <$fh> // '';
	close $fh;
	return $t;
}

sub fail
{
	my ($self, $class, $m, %info) = @_;
	my $f = { class => $class, mutant => $m, %info };
	push @{ $self->{failures} }, $f;
	$self->{failure_classes}{$class}++;
	$self->{on_failure}->($f) if $self->{on_failure};
	return;
}

# The session died: find out why, wait for the server, and make sure the
# database is as it should be (rebuild it if it is not).
sub recover
{
	my ($self, $m, $k, $log_offset, $r, $what) = @_;
	my $pid = $self->{s} ? $self->{s}{pid} : '?';
	sleep 1;
	my $log = $self->log_since($log_offset);
	my @lines = grep { /terminated by signal|was terminated|PANIC|TRAP|Failed process was running|FATAL|server process|background worker/ } split /\n/, $log;
	my $class;
	if ($log =~ /\((?:PID )?\Q$pid\E\) was terminated by signal/ || $log =~ /PID \Q$pid\E\) was terminated/)
	{
		$class = 'crash';
	}
	elsif ($log =~ /terminated by signal|PANIC/)
	{
		$class = 'crash';
		push @lines, "(the process that crashed was not this mutant's session, PID $pid)";
	}
	elsif ($r->{timeout})
	{
		$class = 'hang';
	}
	else
	{
		$class = 'session_lost';
	}
	$self->{crashes}++ if $class eq 'crash';
	$self->fail($class, $m, when => $what, psql_stderr => MigFuzz::truncate_text($r->{err}, 2000),
		server_log => join("\n", @lines[ 0 .. ($#lines < 30 ? $#lines : 30) ]));
	$self->{s}->kill if $self->{s};
	undef $self->{s};
	$self->wait_ready;
	$self->rebuild($k);
	return;
}

sub check_before
{
	my ($self, $m, $digest, $k) = @_;
	return 1 if !defined $digest || $digest eq $self->{baseline};
	# Something the previous mutant did survived (or a job changed state).
	my $diff = $self->{s}->query(q{SELECT fuzz_harness.baseline_diff('public')});
	$self->fail('state_not_restored', $self->{previous} // $m,
		when => 'found before the next mutant', diff => $diff->{out});
	# go on from the state as it is now (cheaper than a rebuild; the real
	# migration of the step is retried on a rebuilt database if it fails)
	$self->baseline;
	return 0;
}

sub try_mutant
{
	my ($self, $m, $k) = @_;
	my $s = $self->{s};
	my $name = MigFuzz::sql_b64_text($m->{name});
	my $doc = MigFuzz::sql_b64_bytes($m->{doc});
	my $schema = defined $m->{schema} ? MigFuzz::sql_b64_text($m->{schema}) . '::name' : 'NULL::name';
	my $exercise = $self->{exercise} ? 'true' : 'false';
	my $end = $m->{has_sql} ? 'ROLLBACK' : 'COMMIT';
	my $log_offset = $self->log_size;
	my $r = $s->query("BEGIN; SELECT fuzz_harness.try($name, $doc, $schema, '$m->{strict}', $exercise); $end;",
		$self->{statement_timeout} // 150);
	if ($r->{dead} || $r->{timeout})
	{
		$self->{outcomes}{ $r->{timeout} ? 'hang' : 'crash' }++;
		$self->recover($m, $k, $log_offset, $r, 'start/rollback in one transaction');
		return;
	}
	my $res = eval { JSON::PP->new->decode($r->{out}) };
	if (!$res)
	{
		# the statement itself failed (an error that PL/pgSQL cannot catch)
		$self->{outcomes}{harness_error}++;
		$self->fail('uncaught_error', $m, psql_stderr => MigFuzz::truncate_text($r->{err}, 3000),
			output => MigFuzz::truncate_text($r->{out}, 1000));
		$self->rebuild($k) unless $self->s_ok;
		return;
	}
	if ($r->{err} =~ /WARNING:.*(leak|not closed|still referenced|pinned|reference)/i)
	{
		$self->fail('leak_warning', $m, psql_stderr => MigFuzz::truncate_text($r->{err}, 2000));
	}
	return unless $self->check_before($m, $res->{before}, $k);
	my $outcome = $res->{outcome};
	my $st = $res->{sqlstate};
	$self->{sqlstates}{ $st }++ if defined $st;
	if ($m->{has_sql} && $outcome ne 'error')
	{
		# a raw sql operation: its up and down are arbitrary SQL, so neither
		# a failing down nor what up left behind is migrate_ext's fault
		$outcome = $outcome eq 'ok' ? 'ok_sql_unchecked' : 'sql_rollback_error';
		delete $res->{diff};
	}
	$self->{outcomes}{$outcome}++;
	$self->{kinds}{"$m->{kind} $outcome"}++;
	if ($res->{diff})
	{
		$self->fail('state_not_restored', $m, when => "after $outcome", result => $res);
		$self->baseline unless $m->{has_sql};	# the state committed is the new baseline
	}
	if ($outcome eq 'error' || $outcome eq 'rollback_error')
	{
		my $class = MigFuzz::classify_error($res);
		$self->fail($class, $m, when => $outcome, result => $res) if $class;
		$self->fail('rollback_failed', $m, result => $res) if $outcome eq 'rollback_error';
	}
	if ($res->{problems} && @{ $res->{problems} })
	{
		my @p = @{ $res->{problems} };
		$self->fail('version_unreadable', $m, result => $res) if grep { $_->{read} || $_->{exercise} } @p;
		$self->fail('internal_error', $m, when => 'writing through a version', result => $res)
		  if grep { $_->{write} } @p;
	}
	# the committed path
	if ($outcome eq 'ok' && !$m->{has_sql} && $m->{committed})
	{
		$self->try_committed($m, $k);
	}
	$self->{previous} = $m;
	return;
}

sub s_ok
{
	my ($self) = @_;
	my $r = $self->{s}->query('SELECT 1', 30);
	return !$r->{dead} && !$r->{timeout} && $r->{out} eq '1';
}

sub try_committed
{
	my ($self, $m, $k) = @_;
	my $s = $self->{s};
	my $name = MigFuzz::sql_b64_text($m->{name});
	my $doc = MigFuzz::sql_b64_bytes($m->{doc});
	my $schema = defined $m->{schema} ? MigFuzz::sql_b64_text($m->{schema}) . '::name' : 'NULL::name';
	$self->{outcomes}{committed_tried}++;
	my $log_offset = $self->log_size;
	my $r = $s->query("SET migrate_ext.start_jobs = off; SELECT fuzz_harness.call('start', $name, $doc, $schema, '$m->{strict}');", 150);
	if ($r->{dead} || $r->{timeout})
	{
		$self->recover($m, $k, $log_offset, $r, 'committed start');
		return;
	}
	my $start = eval { JSON::PP->new->decode($r->{out}) } // { outcome => 'error', message => $r->{err} };
	my $rb;
	if ($start->{outcome} eq 'ok')
	{
		$r = $s->query("SELECT fuzz_harness.call('rollback', NULL, NULL, $schema, 'on'); RESET migrate_ext.start_jobs;", 150);
		if ($r->{dead} || $r->{timeout})
		{
			$self->recover($m, $k, $log_offset, $r, 'committed rollback');
			return;
		}
		$rb = eval { JSON::PP->new->decode($r->{out}) } // { outcome => 'error', message => $r->{err} };
		if ($rb->{outcome} ne 'ok')
		{
			$self->fail('rollback_failed', $m, when => 'committed rollback', result => $rb);
		}
	}
	else
	{
		$s->query('RESET migrate_ext.start_jobs');
		# it started in a transaction that rolled back; committed, it fails
		$self->fail('committed_start_failed', $m, result => $start)
		  if MigFuzz::classify_error($start);
	}
	$r = $s->query(q{SELECT fuzz_harness.digest(fuzz_harness.lines('public'))});
	if ($r->{out} ne $self->{baseline})
	{
		my $diff = $s->query(q{SELECT fuzz_harness.baseline_diff('public')});
		$self->fail('state_not_restored', $m, when => 'committed start, committed rollback',
			result => { start => $start, rollback => $rb }, diff => $diff->{out});
		if (!$self->s_ok || $self->{s}->query(q{SELECT count(*) FROM mig.migrations WHERE status = 'in_progress'})->{out} ne '0')
		{
			$self->rebuild($k);
		}
		else
		{
			$self->baseline;
		}
		return;
	}
	$self->{outcomes}{committed_ok}++;
	return;
}

sub run
{
	my ($self) = @_;
	my $t0 = time;
	my $corpus = $self->{corpus};
	my $steps = scalar @$corpus;
	$self->{failures} = [];
	$self->{outcomes} = {};
	$self->{sqlstates} = {};
	$self->{crashes} = 0;
	$self->rebuild(0);
	my $done = 0;
	STEP: for my $k (0 .. $steps - 1)
	{
		# spread count over the steps
		my $n = int($self->{count} * ($k + 1) / $steps) - int($self->{count} * $k / $steps);
		my $ctx = MigFuzz::make_context($corpus, $self->{schema});
		for my $i (0 .. $n - 1)
		{
			my $m = MigFuzz::make_mutant(seed => $self->{seed}, step => $k, index => $i,
				context => $ctx, huge_max => $self->{huge_max},
				committed_share => $self->{committed_share});
			$self->try_mutant($m, $k);
			$done++;
			last STEP if $self->{max_crashes} && $self->{crashes} >= $self->{max_crashes};
			last STEP if $self->{max_failures} && @{ $self->{failures} } >= $self->{max_failures};
		}
		$self->{previous} = undef;
		my $log_offset = $self->log_size;
		if (!eval { $self->apply($k); 1 })
		{
			# leftovers of a failure may be in the way: retry on a rebuilt
			# database; a second failure stops the run
			my $err = $@;
			$self->wait_ready;
			$self->fail('corpus_step_failed', { id => "corpus/$k", kind => 'corpus',
				description => "applying $corpus->[$k]{name} for real",
				doc => $corpus->[$k]{text}, name => $corpus->[$k]{name}, schema => 'public', strict => 'off' },
				output => $err,
				server_log => join("\n", grep { /terminated by signal|PANIC|Failed process/ }
					split /\n/, $self->log_since($log_offset)));
			$self->rebuild($k);
			$self->apply($k);
		}
		$self->baseline;
		$self->{progress}->({ step => $k + 1, steps => $steps, mutants => $done,
			failures => scalar @{ $self->{failures} }, elapsed => time - $t0,
			name => $corpus->[$k]{name} }) if $self->{progress};
	}
	$self->{s}->close if $self->{s};
	return {
		mutants => $done,
		outcomes => $self->{outcomes},
		sqlstates => $self->{sqlstates},
		kinds => $self->{kinds},
		failures => $self->{failures},
		failure_classes => $self->{failure_classes} // {},
		elapsed => time - $t0,
	};
}

package MigFuzz;

# The mutant with id "seed/step/index", for reproducing one: the context
# needs the schema as it was at that step (read_schema after applying
# documents 0..step-1), which the caller passes.
sub mutant_by_id
{
	my ($id, $corpus, $schema_json) = @_;
	my ($seed, $k, $i) = split m{/}, $id;
	return make_mutant(seed => $seed, step => $k, index => $i,
		context => make_context($corpus, $schema_json));
}

# A failure as text for a report.
sub describe_failure
{
	my ($f, $max) = @_;
	$max //= 2000;
	my $m = $f->{mutant};
	my @l = ("[$f->{class}] mutant $m->{id} ($m->{description})");
	push @l, "  when: $f->{when}" if $f->{when};
	push @l, '  name: ' . (defined $m->{name} ? $JSON->encode($m->{name}) : 'NULL')
	  . ', schema: ' . (defined $m->{schema} ? $JSON->encode($m->{schema}) : 'NULL')
	  . ", strict_expressions: $m->{strict}";
	push @l, '  document: ' . truncate_text(Encode::decode('UTF-8', $m->{doc}), $max);
	for my $k (qw(result diff psql_stderr server_log output))
	{
		next unless defined $f->{$k};
		my $v = ref $f->{$k} ? $JSON->encode($f->{$k}) : $f->{$k};
		push @l, "  $k: " . truncate_text($v, $max);
	}
	return join("\n", @l);
}

###########################################################################
# mig.dual_write() as a trigger on arbitrary tables (issue 14, item 1)
###########################################################################

# trigger_fuzz(%options) attaches mig.dual_write() to generated tables and
# writes to them: tables of random column types, with dropped columns,
# partitioned ones, a view, and a table with a migration in progress;
# triggers BEFORE, AFTER or INSTEAD OF, per row or per statement, on
# INSERT, UPDATE, DELETE or TRUNCATE, with and without arguments; writes
# to the table, through both versions of the migrated one, under valid and
# unknown migrate_ext.version values and search paths.  Every statement
# runs in a savepoint that is rolled back.  Checked: the server never
# crashes, the session is never lost, every error has a SQLSTATE that is
# not an internal error (classify_error).
# Options: host, port, user, psql, logfile, dbname, seed, count; returns
#   { cases => N, statements => N, sqlstates => {state => count},
#     failures => [ { class, case, sql, error, server_log } ] }
sub trigger_fuzz
{
	my (%o) = @_;
	my $self = bless { %o, failures => [], sqlstates => {}, statements => 0 },
	  'MigFuzz::Runner';
	my $admin = $self->connect('postgres');
	$self->must($admin, qq{DROP DATABASE IF EXISTS "$o{dbname}" WITH (FORCE)}, 'drop database');
	$self->must($admin, qq{CREATE DATABASE "$o{dbname}"}, 'create database');
	$admin->close;
	my $setup = q{
CREATE EXTENSION migrate_ext;
SET migrate_ext.start_jobs = off;
SELECT mig.start('01_init', '{"operations": [{"create_table": {"name": "items", "columns": [
	{"name": "id", "type": "serial", "pk": true}, {"name": "name", "type": "text"},
	{"name": "n", "type": "integer", "nullable": true}]}}]}');
SELECT mig.complete();
INSERT INTO items (name, n) SELECT 'r' || g, g FROM generate_series(1, 5) g;
SELECT mig.start('02_x', '{"operations": [
	{"add_column": {"table": "items", "up": "upper(name)", "column": {"name": "shout", "type": "text", "nullable": true}}},
	{"alter_column": {"table": "items", "column": "n", "type": "bigint", "up": "n::bigint * 2", "down": "(n / 2)::integer"}}]}');
};
	my $s = $self->connect;
	$self->must($s, $setup, 'trigger fuzz setup');
	$s->close;

	my @types = ('integer', 'bigint', 'smallint', 'text', 'varchar(5)', 'numeric(6,2)',
		'boolean', 'jsonb', 'timestamptz', 'date', 'integer[]', 'bytea', 'uuid', 'real',
		'"char"', 'inet', 'interval', 'point');
	my %value = (
		'integer' => '1', 'bigint' => '2', 'smallint' => '3', 'text' => q{'t'},
		'varchar(5)' => q{'v'}, 'numeric(6,2)' => '1.5', 'boolean' => 'true',
		'jsonb' => q{'{"a": 1}'}, 'timestamptz' => 'now()', 'date' => 'current_date',
		'integer[]' => q{'{1,2}'}, 'bytea' => q{'\x00'}, 'uuid' => 'gen_random_uuid()',
		'real' => '0.5', '"char"' => q{'c'}, 'inet' => q{'10.0.0.1'},
		'interval' => q{'1 day'}, 'point' => q{'(1,2)'});
	for my $i (0 .. $o{count} - 1)
	{
		my $rng = MigFuzz::Rng->new($o{seed}, 'trigger', $i);
		my ($setup, $writes) = trigger_case($rng, $i, \@types, \%value);
		$self->trigger_case_run($i, $setup, $writes);
		last if @{ $self->{failures} } >= ($o{max_failures} // 50);
	}
	$self->{s}->close if $self->{s};
	return { cases => $o{count}, statements => $self->{statements},
		sqlstates => $self->{sqlstates}, failures => $self->{failures} };
}

# The statements of one case: set-up (kept when it works), then writes
# (each undone).
sub trigger_case
{
	my ($rng, $i, $types, $value) = @_;
	my $kind = $rng->pick(qw(plain plain dropped partitioned migrated migrated view));
	my @setup;
	my @writes;
	my $t = "tf$i";
	my @cols;
	if ($kind eq 'migrated')
	{
		$t = 'public.items';
	}
	else
	{
		my $n = 1 + $rng->int(5);
		@cols = map { [ "c$_", $rng->pick(@$types) ] } 1 .. $n;
		unshift @cols, [ 'k', 'integer' ] if $kind eq 'partitioned';
		my @def = map { "$_->[0] $_->[1]" } @cols;
		push @def, 'gone1 text', 'gone2 integer' if $kind eq 'dropped' || $rng->chance(0.2);
		push @setup, "CREATE TABLE $t (" . join(', ', @def) . ')'
		  . ($kind eq 'partitioned' ? ' PARTITION BY LIST (k)' : '');
		push @setup, "ALTER TABLE $t DROP COLUMN gone1, DROP COLUMN gone2" if "@def" =~ /gone1/;
		if ($kind eq 'partitioned')
		{
			push @setup, "CREATE TABLE ${t}_p1 PARTITION OF $t FOR VALUES IN (1)";
			push @setup, "CREATE TABLE ${t}_p2 PARTITION OF $t FOR VALUES IN (2)" if $rng->chance(0.5);
		}
		my $cols = join(', ', map { $_->[0] } @cols);
		my $vals = join(', ', map { $_->[0] eq 'k' ? '1' : $value->{ $_->[1] } } @cols);
		push @setup, "INSERT INTO $t ($cols) VALUES ($vals)";
		if ($kind eq 'view')
		{
			push @setup, "CREATE VIEW ${t}_v AS SELECT * FROM $t";
		}
	}

	# the trigger
	my $timing = $kind eq 'view' ? $rng->pick('INSTEAD OF', 'INSTEAD OF', 'BEFORE', 'AFTER')
	  : $rng->pick('BEFORE', 'BEFORE', 'AFTER', 'INSTEAD OF');
	my $level = $rng->chance(0.75) ? 'ROW' : 'STATEMENT';
	my @events = grep { $rng->chance(0.5) } qw(INSERT UPDATE DELETE);
	@events = ('INSERT') unless @events;
	push @events, 'TRUNCATE' if $level eq 'STATEMENT' && $rng->chance(0.3);
	my @args = map { "'" . $rng->pick('a', 'up', 'public_02_x', '', 'x y') . "'" } 1 .. $rng->pick(0, 0, 0, 1, 2);
	my $on = $kind eq 'view' ? "${t}_v" : $t;
	my $name = $rng->pick("fz_$i", '"~mig_dual_write"', "a_$i", "zz_$i");
	$name = "fz_$i" if $kind eq 'migrated' && $name eq '"~mig_dual_write"';
	push @setup, "CREATE TRIGGER $name $timing " . join(' OR ', @events)
	  . " ON $on FOR EACH $level EXECUTE FUNCTION mig.dual_write(" . join(', ', @args) . ')'
	  if $kind ne 'migrated' || $rng->chance(0.4);

	# the writes
	for (1 .. 1 + $rng->int(4))
	{
		if ($kind eq 'migrated')
		{
			my $via = $rng->pick('public.items', 'public_01_init.items', 'public_02_x.items');
			my $version = $rng->pick('', '', 'public', 'public_01_init', 'public_02_x', 'public_06_typo');
			my $path = $rng->pick('public', 'public_02_x, public', 'public_01_init', '"public_02_x"');
			my $newcol = $via eq 'public.items' ? '_mig_new_shout' : $via =~ /02/ ? 'shout' : undef;
			push @writes, "SET LOCAL migrate_ext.version = '$version';\n"
			  . "SET LOCAL search_path = $path;\n" . $rng->pick(
				"INSERT INTO $via (name, n) VALUES ('w$i', 4)",
				"UPDATE $via SET n = n + 1 WHERE id <= 2",
				"DELETE FROM $via WHERE id = 3",
				"INSERT INTO $via (name) SELECT name || 'c' FROM public_01_init.items LIMIT 2",
				"WITH a AS (INSERT INTO public_02_x.items (name) VALUES ('cte') RETURNING id) INSERT INTO $via (name) VALUES ('cte2')",
				defined $newcol ? "INSERT INTO $via (name, $newcol) VALUES ('s$i', 'S')" : "UPDATE $via SET name = name",
				"SELECT mig.dual_write()");
		}
		else
		{
			my $w = $kind eq 'view' ? "${t}_v" : $t;
			my $cols = join(', ', map { $_->[0] } @cols);
			my $vals = join(', ', map { $_->[0] eq 'k' ? $rng->pick('1', '2') : $value->{ $_->[1] } } @cols);
			push @writes, $rng->pick(
				"INSERT INTO $w ($cols) VALUES ($vals)",
				"INSERT INTO $w DEFAULT VALUES",
				"UPDATE $w SET $cols[0][0] = $cols[0][0]",
				"DELETE FROM $w",
				"TRUNCATE $t",
				"INSERT INTO $w SELECT * FROM $w",
				"COPY $t ($cols[0][0]) FROM PROGRAM 'true'",
				"SELECT mig.dual_write()");
		}
	}
	return (\@setup, \@writes);
}

package MigFuzz::Runner;

# Runs one case in a transaction that is rolled back, each statement in a
# savepoint (kept if a set-up statement worked, always rolled back for a
# write); records crashes, lost sessions and unclear errors.
sub trigger_case_run
{
	my ($self, $i, $setup, $writes) = @_;
	my $sql = [ @$setup, @$writes ];
	$self->{s} //= do {
		my $s = $self->connect;
		$s->query('\set VERBOSITY verbose');
		$s;
	};
	my $s = $self->{s};
	my $offset = $self->log_size;
	my $script = "BEGIN;\n"
	  . join("\n", map { "SAVEPOINT f;\n$_;\n\\if :ERROR\nROLLBACK TO SAVEPOINT f;\n\\else\nRELEASE SAVEPOINT f;\n\\endif" } @$setup)
	  . "\n" . join("\n", map { "SAVEPOINT f;\n$_;\nROLLBACK TO SAVEPOINT f;" } @$writes) . "\nROLLBACK;";
	$self->{statements} += @$sql;
	my $r = $s->query($script, 60);
	if ($r->{dead} || $r->{timeout})
	{
		sleep 1;
		my $log = $self->log_since($offset);
		my $class = $log =~ /terminated by signal|PANIC/ ? 'crash' : $r->{timeout} ? 'hang' : 'session_lost';
		push @{ $self->{failures} }, { class => $class, case => $i, sql => join(";\n", @$sql),
			error => MigFuzz::truncate_text($r->{err}, 2000),
			server_log => join("\n", grep { /terminated by signal|PANIC|TRAP|Failed process/ } split /\n/, $log) };
		$s->kill;
		undef $self->{s};
		$self->wait_ready;
		return;
	}
	# "ERROR:  42P01: relation ... does not exist" (VERBOSITY verbose)
	for my $line (split /\n/, $r->{err})
	{
		next unless $line =~ /^(?:psql:[^:]*:\d+: )?(ERROR|FATAL|PANIC):\s+(?:([0-9A-Z]{5}): )?(.*)$/;
		my ($level, $st, $msg) = ($1, $2, $3);
		$self->{sqlstates}{ $st // 'none' }++;
		my $class = $level ne 'ERROR' ? 'session_lost'
		  : MigFuzz::classify_error({ sqlstate => $st, message => $msg });
		push @{ $self->{failures} }, { class => $class, case => $i, sql => join(";\n", @$sql),
			error => $line } if $class;
	}
	return;
}

package MigFuzz;

# A trigger-fuzz failure as text for a report.
sub describe_trigger_failure
{
	my ($f) = @_;
	my @l = ("[$f->{class}] case $f->{case}", '  error: ' . ($f->{error} // ''));
	push @l, '  statements: ' . truncate_text($f->{sql}, 3000);
	push @l, "  server log: $f->{server_log}" if $f->{server_log};
	return join("\n", @l);
}

1;
