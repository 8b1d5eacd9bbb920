# migrate_ext: zero-downtime schema migrations from inside PostgreSQL

EXTENSION = migrate_ext
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big = migrate_ext
OBJS = \
	$(WIN32RES) \
	src/api.o \
	src/backfill.o \
	src/backfill_heap.o \
	src/backfill_snapshot.o \
	src/backfill_storage.o \
	src/column_dup.o \
	src/convert.o \
	src/convert_alter.o \
	src/copy_route.o \
	src/ddl.o \
	src/ddl_capture.o \
	src/drop_guard.o \
	src/dup_carry.o \
	src/dup_final.o \
	src/dual_write.o \
	src/dual_write_setup.o \
	src/event_guard.o \
	src/expr_precheck.o \
	src/index_declare.o \
	src/job_control.o \
	src/job_run.o \
	src/jobs.o \
	src/lint.o \
	src/migrate_ext.o \
	src/migration_parse.o \
	src/migration_parts.o \
	src/migration_read.o \
	src/model.o \
	src/names.o \
	src/ops.o \
	src/ops_alter.o \
	src/ops_column.o \
	src/ops_constraint.o \
	src/ops_hierarchy.o \
	src/ops_index.o \
	src/ops_lib.o \
	src/ops_misc.o \
	src/ops_table.o \
	src/replication.o \
	src/rule_compile.o \
	src/security.o \
	src/settings.o \
	src/spi_exec.o \
	src/sql_check.o \
	src/sql_text.o \
	src/state.o \
	src/state_ident.o \
	src/steps.o \
	src/subxact.o \
	src/version_ready.o \
	src/views.o \
	src/views_drop.o \
	src/worker.o \
	src/worker_control.o \
	src/write_route.o
PGFILEDESC = "migrate_ext - zero-downtime schema migrations"

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

# pg_regress runs in a temporary instance with the library preloaded.
REGRESS = parse_errors plan_errors
REGRESS_OPTS = --temp-instance=./tmp_regress --temp-config=./test/regress.conf
ISOLATION = lock_queue concurrent_start backfill_race route_pooled ready_backfill
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output_iso \
	--temp-instance=./tmp_regress --temp-config=./test/regress.conf
TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
EXTRA_CLEAN = tmp_regress test/isolation/output_iso

# rebuild what includes a header when the header changes
override autodepend = yes
EXTRA_CLEAN += .deps

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

PG_PROVE ?= pg_prove
.PHONY: pgtap
pgtap:	# against a running server with the extension installed (PGHOST, PGPORT, PGDATABASE)
	$(PG_PROVE) --ext .sql test/pgtap

# The command-line client (bin/), built and installed with the extension.
all: client
client:
	$(MAKE) -C bin PG_CONFIG=$(PG_CONFIG)
install: install-client
install-client: client
	$(MAKE) -C bin PG_CONFIG=$(PG_CONFIG) install
uninstall: uninstall-client
uninstall-client:
	$(MAKE) -C bin PG_CONFIG=$(PG_CONFIG) uninstall
clean: clean-client
clean-client:
	$(MAKE) -C bin clean
.PHONY: client install-client uninstall-client clean-client
