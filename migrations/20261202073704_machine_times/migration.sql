ALTER TABLE "routing_step_machines" ADD COLUMN "minutes_per_unit" double precision;--> statement-breakpoint
ALTER TABLE "routing_step_machines" ADD COLUMN "setup_minutes" double precision;