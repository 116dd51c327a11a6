CREATE TYPE "alert_rule_kind" AS ENUM('THRESHOLD', 'PREDICTION', 'MACHINE_STATE', 'ORDER_LATE');--> statement-breakpoint
CREATE TYPE "alert_severity" AS ENUM('INFO', 'WARNING', 'CRITICAL');--> statement-breakpoint
CREATE TYPE "alert_status" AS ENUM('OPEN', 'ACKNOWLEDGED', 'RESOLVED');--> statement-breakpoint
CREATE TYPE "comparator" AS ENUM('GT', 'GTE', 'LT', 'LTE');--> statement-breakpoint
CREATE SEQUENCE "public"."alert_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "alert_pending" (
	"rule_id" integer,
	"subject" text,
	"plant_id" integer NOT NULL,
	"machine_id" integer,
	"since" timestamp with time zone NOT NULL,
	"value" double precision,
	"fired" boolean DEFAULT false NOT NULL,
	CONSTRAINT "alert_pending_pkey" PRIMARY KEY("rule_id","subject")
);
--> statement-breakpoint
CREATE TABLE "alert_rules" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"machine_id" integer,
	"name" text NOT NULL,
	"kind" "alert_rule_kind" NOT NULL,
	"severity" "alert_severity" NOT NULL,
	"metric" text,
	"comparator" "comparator",
	"threshold" double precision,
	"for_seconds" integer DEFAULT 0 NOT NULL,
	"status" "machine_status",
	"model" text,
	"auto_resolve" boolean DEFAULT true NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" serial PRIMARY KEY,
	"plant_id" integer NOT NULL,
	"rule_id" integer NOT NULL,
	"subject" text NOT NULL,
	"machine_id" integer,
	"order_id" integer,
	"status" "alert_status" DEFAULT 'OPEN'::"alert_status" NOT NULL,
	"severity" "alert_severity" NOT NULL,
	"message" text NOT NULL,
	"value" double precision,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"seq" bigint DEFAULT nextval('alert_seq') NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"acknowledged_by" text,
	"acknowledge_note" text,
	"resolved_at" timestamp with time zone,
	"resolved_by" text,
	"resolve_note" text
);
--> statement-breakpoint
CREATE INDEX "alert_pending_since_idx" ON "alert_pending" ("since");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_rules_plant_name_uq" ON "alert_rules" ("plant_id","name");--> statement-breakpoint
CREATE INDEX "alert_rules_plant_idx" ON "alert_rules" ("plant_id","enabled");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_one_active_uq" ON "alerts" ("rule_id","subject") WHERE status <> 'RESOLVED';--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_seq_uq" ON "alerts" ("seq");--> statement-breakpoint
CREATE INDEX "alerts_plant_seq_idx" ON "alerts" ("plant_id","seq");--> statement-breakpoint
ALTER TABLE "alert_pending" ADD CONSTRAINT "alert_pending_rule_id_alert_rules_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alert_rules" ADD CONSTRAINT "alert_rules_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alert_rules" ADD CONSTRAINT "alert_rules_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_plant_id_plants_id_fkey" FOREIGN KEY ("plant_id") REFERENCES "plants"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_rule_id_alert_rules_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_machine_id_machines_id_fkey" FOREIGN KEY ("machine_id") REFERENCES "machines"("id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_order_id_orders_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE;