-- One database per service (docker-compose runs this on first start; `make run`
-- creates the same databases through infra/dev/stack.py).
CREATE DATABASE svyaz_registry;
CREATE DATABASE svyaz_stipends;
CREATE DATABASE svyaz_notifications;
CREATE DATABASE svyaz_gateway;
