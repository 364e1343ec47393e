// Program measures (rules across resources and time) and the profile of their reports.
//
// The populations are computed by the adapter's rules layer, which registers one rule per rule id; a
// criterion names that rule with the expression language text/x-cmp-rule and describes it in words.

RuleSet: ProportionMeasure
* insert InstanceMetadata
* status = #draft
* date = "2026-11-20"
* scoring = $measure-scoring#proportion "Proportion"
* type = $measure-type#process "Process"
* improvementNotation = $measure-improvement#increase "Increased score indicates improvement"
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#Patient "Patient"


Instance: cmp-weekly-contact
InstanceOf: Measure
Usage: #definition
* insert ProportionMeasure
* url = "https://cmp-adapter.org/fhir/Measure/cmp-weekly-contact"
* name = "CmpWeeklyContact"
* title = "CMP Weekly Quality Contact"
* description = "Share of CMP members who received at least one quality contact (face-to-face or telehealth) in the week (CMP-QC-1). Reported per team and week; a member without a contact in a week is a CMP-QC-1 finding."
* purpose = "Measure CMP-QC-1: every member receives at least one quality contact every week."
* rationale = "S1 'Service Requirements (3)': each member must receive weekly quality contacts, face-to-face or by telehealth."
* guidance = "Counted in member-weeks: program weeks in the program's time zone, starting on the day program-rules.json sets (Monday, America/Denver for CMP). A report over a period counts the weeks that start in it; a week counts for a member enrolled on at least one of its days, for the team of the latest enrollment that week. Count a member-week once however many contacts it had."
* group[0].population[0].code = $measure-population#initial-population
* group[0].population[0].description = "Members with a cmp-enrollment (status active) managed by the team whose period overlaps the week."
* group[0].population[0].criteria.language = #text/x-cmp-rule
* group[0].population[0].criteria.expression = "CMP-QC-1:enrolled-members"
* group[0].population[1].code = $measure-population#denominator
* group[0].population[1].description = "The initial population."
* group[0].population[1].criteria.language = #text/x-cmp-rule
* group[0].population[1].criteria.expression = "CMP-QC-1:enrolled-members"
* group[0].population[2].code = $measure-population#numerator
* group[0].population[2].description = "Members of the denominator with at least one finished cmp-quality-contact (class AMB or VR) starting in the week."
* group[0].population[2].criteria.language = #text/x-cmp-rule
* group[0].population[2].criteria.expression = "CMP-QC-1:members-with-contact"


Instance: cmp-team-meeting
InstanceOf: Measure
Usage: #definition
* insert ProportionMeasure
* url = "https://cmp-adapter.org/fhir/Measure/cmp-team-meeting"
* name = "CmpTeamMeeting"
* title = "CMP Weekly Team Review"
* description = "Share of CMP members whose progress the team discussed at its meeting in the week (CMP-TM-1). Reported per team and week; a member not reviewed in a week is a CMP-TM-1 finding."
* purpose = "Measure CMP-TM-1: the team meets every week and discusses the progress of each member."
* rationale = "S1 'Service Requirements (4)': teams must meet each week to discuss the progress of each member."
* guidance = "Counted in member-weeks, as cmp-weekly-contact: program weeks in the program's time zone starting in the report's period, a member enrolled on at least one day of the week, the team of the latest enrollment that week."
* group[0].population[0].code = $measure-population#initial-population
* group[0].population[0].description = "Members with a cmp-enrollment (status active) managed by the team whose period overlaps the week."
* group[0].population[0].criteria.language = #text/x-cmp-rule
* group[0].population[0].criteria.expression = "CMP-TM-1:enrolled-members"
* group[0].population[1].code = $measure-population#denominator
* group[0].population[1].description = "The initial population."
* group[0].population[1].criteria.language = #text/x-cmp-rule
* group[0].population[1].criteria.expression = "CMP-TM-1:enrolled-members"
* group[0].population[2].code = $measure-population#numerator
* group[0].population[2].description = "Members of the denominator who are the subject of a finished cmp-team-meeting encounter starting in the week."
* group[0].population[2].criteria.language = #text/x-cmp-rule
* group[0].population[2].criteria.expression = "CMP-TM-1:members-reviewed"


Instance: followup-after-discharge
InstanceOf: Measure
Usage: #definition
* insert ProportionMeasure
* url = "https://cmp-adapter.org/fhir/Measure/followup-after-discharge"
* name = "FollowupAfterDischarge"
* title = "Contact After Hospital Discharge"
* description = "Share of hospital discharges of PCCM/PCMH members after which the member's primary care practice contacted the member within 7 days to arrange follow-up care (PCMH-3). One of the quality metrics a performance-based incentive payment can draw on (PCMH-2)."
* purpose = "Measure PCMH-3: patients are contacted after a hospitalization to make sure they receive the follow-up care they need."
* rationale = "S4: patients are contacted after hospitalization to make sure that they receive any follow-up care needed."
* guidance = "The period of a report is one calendar month; a discharge counts in the month it happens. Seven days is this guide's default window."
* group[0].population[0].code = $measure-population#initial-population
* group[0].population[0].description = "Finished inpatient encounters (class IMP) of pccm-member patients that end in the period."
* group[0].population[0].criteria.language = #text/x-cmp-rule
* group[0].population[0].criteria.expression = "PCMH-3:discharges"
* group[0].population[1].code = $measure-population#denominator
* group[0].population[1].description = "The initial population, less discharges that end in death or in a transfer to another inpatient stay."
* group[0].population[1].criteria.language = #text/x-cmp-rule
* group[0].population[1].criteria.expression = "PCMH-3:eligible-discharges"
* group[0].population[2].code = $measure-population#numerator
* group[0].population[2].description = "Discharges of the denominator followed within 7 days by a finished encounter or communication between the member and their primary care provider's organization."
* group[0].population[2].criteria.language = #text/x-cmp-rule
* group[0].population[2].criteria.expression = "PCMH-3:discharges-with-contact"


Instance: pcmh-incentive
InstanceOf: Measure
Usage: #definition
* insert InstanceMetadata
* status = #draft
* date = "2026-11-22"
* url = "https://cmp-adapter.org/fhir/Measure/pcmh-incentive"
* name = "PcmhIncentive"
* title = "PCMH Performance Incentive"
* description = "The quality and utilization metrics a performance-based incentive payment of a patient-centered medical home is computed from (PCMH-2), for the practice's PCCM/PCMH members over a period (usually a month or a quarter): follow-up after hospital discharge (PCMH-3), care-management contact, and inpatient utilization. Patient experience, the third input PCMH-2 names, comes from surveys outside this guide's data and is not reported here."
* purpose = "Measure PCMH-2: a performance-based incentive payment computed from quality metrics, utilization and patient experience."
* rationale = "S4: PCMH practices may receive performance-based incentive payments based on quality metrics, utilization and patient experience."
* guidance = "Members are Patients of profile pccm-member; a practice's members are those whose generalPractitioner is a PractitionerRole of the practice (or the practice itself). Each group is a proportion; the incentive formula that weighs them is the state's."
* scoring = $measure-scoring#proportion "Proportion"
* type = $measure-type#process "Process"
* subjectCodeableConcept = http://hl7.org/fhir/resource-types#Patient "Patient"
* group[0].id = "followup-after-discharge"
* group[0].description = "Quality: discharges followed by a contact within followUpDays (PCMH-3, as Measure followup-after-discharge)."
* group[0].population[0].code = $measure-population#initial-population
* group[0].population[0].description = "PCMH-3 discharges (as followup-after-discharge)."
* group[0].population[0].criteria.language = #text/x-cmp-rule
* group[0].population[0].criteria.expression = "PCMH-3:discharges"
* group[0].population[1].code = $measure-population#denominator
* group[0].population[1].description = "PCMH-3 discharges less those ending in death or another inpatient stay."
* group[0].population[1].criteria.language = #text/x-cmp-rule
* group[0].population[1].criteria.expression = "PCMH-3:eligible-discharges"
* group[0].population[2].code = $measure-population#numerator
* group[0].population[2].description = "PCMH-3 discharges followed by a contact within followUpDays."
* group[0].population[2].criteria.language = #text/x-cmp-rule
* group[0].population[2].criteria.expression = "PCMH-3:discharges-with-contact"
* group[1].id = "care-management-contact"
* group[1].description = "Quality: members with at least one finished ambulatory, virtual or home encounter in the period."
* group[1].population[0].code = $measure-population#initial-population
* group[1].population[0].description = "The practice's pccm-member patients."
* group[1].population[0].criteria.language = #text/x-cmp-rule
* group[1].population[0].criteria.expression = "PCMH-2:members"
* group[1].population[1].code = $measure-population#denominator
* group[1].population[1].description = "The initial population."
* group[1].population[1].criteria.language = #text/x-cmp-rule
* group[1].population[1].criteria.expression = "PCMH-2:members"
* group[1].population[2].code = $measure-population#numerator
* group[1].population[2].description = "Members with a finished ambulatory, virtual or home encounter starting in the period."
* group[1].population[2].criteria.language = #text/x-cmp-rule
* group[1].population[2].criteria.expression = "PCMH-2:members-with-contact"
* group[2].id = "inpatient-utilization"
* group[2].description = "Utilization (lower is better): members with at least one inpatient admission starting in the period."
* group[2].population[0].code = $measure-population#initial-population
* group[2].population[0].description = "The practice's pccm-member patients."
* group[2].population[0].criteria.language = #text/x-cmp-rule
* group[2].population[0].criteria.expression = "PCMH-2:members"
* group[2].population[1].code = $measure-population#denominator
* group[2].population[1].description = "The initial population."
* group[2].population[1].criteria.language = #text/x-cmp-rule
* group[2].population[1].criteria.expression = "PCMH-2:members"
* group[2].population[2].code = $measure-population#numerator
* group[2].population[2].description = "Members with an inpatient admission starting in the period (lower is better)."
* group[2].population[2].criteria.language = #text/x-cmp-rule
* group[2].population[2].criteria.expression = "PCMH-2:members-admitted"


Profile: CmpMeasureReport
Parent: MeasureReport
Id: cmp-measure-report
Title: "Program Measure Report"
Description: "A report of one of this guide's measures (cmp-weekly-contact for CMP-QC-1, cmp-team-meeting for CMP-TM-1, followup-after-discharge for PCMH-3, pcmh-incentive for PCMH-2) for one reporting organization (a CMP team or a primary care practice) and one period (a week, a month or a quarter). The rules layer writes these reports; state systems read them. Each group reports the three populations (initial population, denominator, numerator) and the score (invariant cmp-mr-1 checks the score against the counts). US Core 6.1.0 has no MeasureReport profile."
* insert GuideMetadata
* ^purpose = "Report the program rules that span resources and time (CMP-QC-1, CMP-TM-1, PCMH-3) as measure results."
* obeys cmp-mr-1
* status = #complete
* type 1..1
* measure 1..1
* measure ^short = "cmp-weekly-contact | cmp-team-meeting | followup-after-discharge | pcmh-incentive (https://cmp-adapter.org/fhir/Measure/...)"
* date 1..1
* reporter 1..1
* reporter only Reference(CmpTeamOrganization or CmpOrganization)
* period.start 1..1
* period.end 1..1
* group 1..*
* group.population 3..*
* group.population.code 1..1
* group.population.count 1..1
* group.measureScore 1..1

Invariant: cmp-mr-1
Description: "The score is the numerator count divided by the denominator count (0 when the denominator is 0)."
Expression: "group.all(iif(population.where(code.coding.code = 'denominator').count = 0, measureScore.value = 0, (measureScore.value - (population.where(code.coding.code = 'numerator').count / population.where(code.coding.code = 'denominator').count)).abs() < 0.0001))"
Severity: #error
