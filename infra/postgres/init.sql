-- One database per service, each owned by the service's own login role: the role
-- runs the service's migrations and is the only one (besides the administrators)
-- that may connect to the database (CONNECT revoked from PUBLIC), so stipends'
-- role cannot read registry's tables. docker-compose runs this on the first start
-- of an empty data volume; running it again changes nothing. `make run` does the
-- same through infra/dev/stack.py, with passwords generated into var/credentials/.
-- The passwords here are development ones, which the services refuse with
-- SVYAZ_ENV=production: in production create the roles with your own.
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', role, 'dev-' || service || '-db')
  FROM (VALUES ('registry'), ('stipends'), ('notifications'), ('gateway'),
               ('insights'))
       AS s(service), LATERAL (SELECT 'svyaz_' || service AS role) r
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
