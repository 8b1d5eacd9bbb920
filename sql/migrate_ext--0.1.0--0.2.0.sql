/* migrate_ext--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate_ext UPDATE TO '0.2.0'" to load this file. \quit

--
-- Every update script must work while a migration is in progress: ALTER
-- EXTENSION ... UPDATE is not refused then (README, "Upgrading
-- migrate_ext").  Change the state tables only in ways the library of the
-- previous version and of this one both read.
--

-- The history's link from a migration to its parent referenced its own
-- table, so every pg_dump warned of "circular foreign-key constraints" on
-- mig.migrations (its rows are dumped with the database).  mig.start sets
-- the parent itself, to the schema's latest migration, under the lock that
-- serializes migrations of a schema; rollback removes only the latest.
ALTER TABLE @extschema@.migrations
	DROP CONSTRAINT migrations_schema_parent_fkey;
