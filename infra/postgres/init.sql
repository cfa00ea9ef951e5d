-- One database per service, each owned by the service's own login role, which
-- runs the service's migrations; the service connects as a second login role,
-- svyaz_<service>_app, which the migrations grant the rows of every table and
-- nothing more (svyaz.migrations.grant_runtime_role: it owns nothing, so it cannot
-- alter, drop or disable the triggers of a table). Only these two (besides the
-- administrators) may connect to the database (CONNECT revoked from PUBLIC), so
-- stipends' roles cannot read registry's tables. docker-compose runs this on the
-- first start of an empty data volume; running it again changes nothing. `make run`
-- does the same through infra/dev/stack.py, with passwords generated into
-- var/credentials/. The passwords here are development ones, which the services
-- refuse with SVYAZ_ENV=production: in production create the roles with your own.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', role, password)
  FROM (VALUES ('registry'), ('stipends'), ('notifications'), ('gateway'),
               ('insights'))
       AS s(service),
       LATERAL (VALUES ('svyaz_' || service, 'dev-' || service || '-db'),
                       ('svyaz_' || service || '_app',
                        'dev-' || service || '-app-db')) AS r(role, password)
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role)
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', name, name)
  FROM (VALUES ('svyaz_registry'), ('svyaz_stipends'), ('svyaz_notifications'),
               ('svyaz_gateway'), ('svyaz_insights')) AS d(name)
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name)
\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', name)
  FROM (VALUES ('svyaz_registry'), ('svyaz_stipends'), ('svyaz_notifications'),
               ('svyaz_gateway'), ('svyaz_insights')) AS d(name)
\gexec
-- nor may a service's role connect to the maintenance databases
REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC;
