-- The gateway store lives in its own database, separate from Airflow's metadata.
CREATE USER creditsync WITH PASSWORD 'creditsync';
CREATE DATABASE creditsync OWNER creditsync;
