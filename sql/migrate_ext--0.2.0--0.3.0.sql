/* migrate_ext--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION migrate_ext UPDATE TO '0.3.0'" to load this file. \quit

--
-- Every update script must work while a migration is in progress: ALTER
-- EXTENSION ... UPDATE is not refused then (README, "Upgrading
-- migrate_ext").  Change the state tables only in ways the library of the
-- previous version and of this one both read.
--
